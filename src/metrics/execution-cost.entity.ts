import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Cost counters of one tenant execution (table owned by src/metrics). */
@Entity({ name: 'orchestrator_execution_costs' })
export class ExecutionCostEntity {
  @PrimaryColumn({ name: 'execution_id', type: 'uuid' }) executionId: string;
  @Column({ name: 'run_id', type: 'uuid' }) runId: string;
  @Column({ name: 'workflow_name', type: 'varchar', length: 255 }) workflowName: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'downstream_calls', type: 'integer', default: 0 }) downstreamCalls: number;
  @Column({ name: 'step_attempts', type: 'integer', default: 0 }) stepAttempts: number;
  @Column({ name: 'failed_attempts', type: 'integer', default: 0 }) failedAttempts: number;
  @Column({ name: 'step_seconds', type: 'decimal', precision: 14, scale: 3, default: 0 })
  stepSeconds: string;
  @Column({ name: 'cpu_seconds', type: 'decimal', precision: 14, scale: 6, default: 0 })
  cpuSeconds: string;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'NOW()' }) updatedAt: Date;
}
