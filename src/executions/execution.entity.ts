import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type ExecutionStatus =
  'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'skipped';
export type ExecutionType = 'scheduled' | 'manual' | 'catch_up' | 'backfill' | 'retry';

@Entity({ name: 'orchestrator_executions' })
export class ExecutionEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'workflow_id', type: 'uuid', nullable: true }) workflowId: string | null;
  @Column({ name: 'workflow_name', type: 'varchar', length: 255 }) workflowName: string;
  @Column({ name: 'execution_type', type: 'varchar', length: 50 }) executionType: ExecutionType;
  @Column({ name: 'triggered_by', type: 'uuid', nullable: true }) triggeredBy: string | null;
  @Column({ name: 'tenant_id', type: 'uuid', nullable: true }) tenantId: string | null;
  @Column({ type: 'varchar', length: 50, default: 'pending' }) status: ExecutionStatus;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt: Date | null;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
  @Column({ name: 'duration_seconds', type: 'integer', nullable: true }) durationSeconds:
    number | null;
  @Column({ name: 'steps_completed', type: 'integer', default: 0 }) stepsCompleted: number;
  @Column({ name: 'steps_total', type: 'integer', default: 0 }) stepsTotal: number;
  @Column({ name: 'steps_failed', type: 'integer', default: 0 }) stepsFailed: number;
  @Column({ name: 'error_message', type: 'text', nullable: true }) errorMessage: string | null;
  @Column({ name: 'result_summary', type: 'jsonb', nullable: true })
  resultSummary: Record<string, unknown> | null;
  @Column({ name: 'executed_by_instance', type: 'varchar', length: 255, nullable: true })
  executedByInstance: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'NOW()' }) createdAt: Date;
  @Column({ name: 'parent_execution_id', type: 'uuid', nullable: true }) parentExecutionId:
    string | null;
  @Column({ name: 'scheduled_for', type: 'timestamptz' }) scheduledFor: Date;
  @Column({ name: 'retry_of_execution_id', type: 'uuid', nullable: true })
  retryOfExecutionId: string | null;
  @Column({ type: 'integer', default: 1 }) attempt: number;
  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null;
  @Column({ name: 'lease_owner', type: 'varchar', length: 255, nullable: true }) leaseOwner:
    string | null;
  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt: Date | null;
  @Column({ name: 'leader_term', type: 'bigint', nullable: true }) leaderTerm: string | null;
  @Column({ type: 'integer', default: 0 }) priority: number;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'NOW()' }) updatedAt: Date;
  @Column({ name: 'deadline_at', type: 'timestamptz', nullable: true }) deadlineAt: Date | null;
  /** the latest retry that claimed this run (compare-and-set; one retry at a time) */
  @Column({ name: 'active_retry_id', type: 'uuid', nullable: true }) activeRetryId: string | null;
  /** the tenant's IANA timezone when the run was created: the zone of its business date */
  @Column({ name: 'tenant_timezone', type: 'varchar', length: 64, nullable: true })
  tenantTimezone: string | null;
}
