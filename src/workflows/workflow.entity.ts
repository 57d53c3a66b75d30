import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

export type CalendarPolicy = 'run' | 'skip' | 'shift';
export type OverlapPolicy = 'skip' | 'buffer_one' | 'allow';
export type WorkflowType = 'daily' | 'weekly' | 'monthly' | 'hourly' | 'on_demand';

export interface StepDefinition {
  name: string;
  operation: string;
  params?: Record<string, unknown>;
  depends_on?: string[];
  timeout_seconds?: number;
  retries?: number;
  continue_on_error?: boolean;
}

@Entity({ name: 'orchestrator_workflows' })
export class WorkflowEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'workflow_name', type: 'varchar', length: 255, unique: true })
  workflowName: string;
  @Column({ name: 'workflow_type', type: 'varchar', length: 100 }) workflowType: WorkflowType;
  @Column({ type: 'text', nullable: true }) description: string | null;
  @Column({ name: 'cron_expression', type: 'varchar', length: 100, nullable: true })
  cronExpression: string | null;
  @Column({ type: 'varchar', length: 50, default: 'Europe/Madrid' }) timezone: string;
  @Column({ name: 'is_enabled', type: 'boolean', default: true }) isEnabled: boolean;
  @Column({ name: 'max_execution_time_seconds', type: 'integer', default: 3600 })
  maxExecutionTimeSeconds: number;
  @Column({ name: 'max_retries', type: 'integer', default: 3 }) maxRetries: number;
  @Column({ name: 'retry_delay_seconds', type: 'integer', default: 300 }) retryDelaySeconds: number;
  @Column({ type: 'jsonb' }) steps: StepDefinition[];
  @Column({ name: 'last_execution_at', type: 'timestamptz', nullable: true })
  lastExecutionAt: Date | null;
  @Column({ name: 'last_success_at', type: 'timestamptz', nullable: true })
  lastSuccessAt: Date | null;
  @Column({ name: 'last_failure_at', type: 'timestamptz', nullable: true })
  lastFailureAt: Date | null;
  @Column({ name: 'next_execution_at', type: 'timestamptz', nullable: true })
  nextExecutionAt: Date | null;
  @Column({ name: 'consecutive_failures', type: 'integer', default: 0 })
  consecutiveFailures: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @Column({ name: 'per_tenant_timezone', type: 'boolean', default: false })
  perTenantTimezone: boolean;
  @Column({ type: 'jsonb' }) calendar: { country: string; region?: string | null };
  @Column({ name: 'holiday_policy', type: 'varchar', length: 10, default: 'run' })
  holidayPolicy: CalendarPolicy;
  @Column({ name: 'weekend_policy', type: 'varchar', length: 10, default: 'run' })
  weekendPolicy: CalendarPolicy;
  @Column({ name: 'catch_up_window_seconds', type: 'integer', nullable: true })
  catchUpWindowSeconds: number | null;
  @Column({ name: 'overlap_policy', type: 'varchar', length: 12, default: 'skip' })
  overlapPolicy: OverlapPolicy;
  @Column({ type: 'integer', default: 1 }) version: number;
}
