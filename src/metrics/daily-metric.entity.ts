import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'orchestrator_metrics' })
export class DailyMetricEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'metric_date', type: 'date' }) metricDate: string;
  @Column({ name: 'workflow_name', type: 'varchar', length: 255, nullable: true }) workflowName:
    string | null;
  @Column({ name: 'total_executions', type: 'integer', default: 0 }) totalExecutions: number;
  @Column({ name: 'successful_executions', type: 'integer', default: 0 })
  successfulExecutions: number;
  @Column({ name: 'failed_executions', type: 'integer', default: 0 }) failedExecutions: number;
  @Column({ name: 'avg_duration_seconds', type: 'integer', nullable: true }) avgDurationSeconds:
    number | null;
  @Column({ name: 'min_duration_seconds', type: 'integer', nullable: true }) minDurationSeconds:
    number | null;
  @Column({ name: 'max_duration_seconds', type: 'integer', nullable: true }) maxDurationSeconds:
    number | null;
  @Column({
    name: 'success_rate_percentage',
    type: 'decimal',
    precision: 5,
    scale: 2,
    nullable: true,
  })
  successRatePercentage: string | null;
  @Column({ name: 'avg_retry_count', type: 'decimal', precision: 5, scale: 2, nullable: true })
  avgRetryCount: string | null;
  @Column({ name: 'calculated_at', type: 'timestamptz', default: () => 'NOW()' })
  calculatedAt: Date;
  // additions (migration MetricsCost1796020100000)
  @Column({ name: 'skipped_slots', type: 'integer', default: 0 }) skippedSlots: number;
  @Column({ name: 'tenant_executions', type: 'integer', default: 0 }) tenantExecutions: number;
  @Column({ name: 'tenant_failures', type: 'integer', default: 0 }) tenantFailures: number;
  @Column({ type: 'integer', default: 0 }) tenants: number;
  @Column({ name: 'downstream_calls', type: 'bigint', default: 0 }) downstreamCalls: string;
  @Column({ name: 'cpu_seconds', type: 'decimal', precision: 14, scale: 3, default: 0 })
  cpuSeconds: string;
  @Column({ name: 'cost_eur', type: 'decimal', precision: 14, scale: 4, default: 0 })
  costEur: string;
  @Column({
    name: 'cost_per_tenant_eur',
    type: 'decimal',
    precision: 12,
    scale: 6,
    nullable: true,
  })
  costPerTenantEur: string | null;
  @Column({ name: 'deadline_misses', type: 'integer', default: 0 }) deadlineMisses: number;
}
