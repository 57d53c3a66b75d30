import { Column, Entity, PrimaryColumn } from 'typeorm';

export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';

/** Per-step state of one tenant execution: what a resume reads to skip completed work. */
@Entity({ name: 'orchestrator_execution_steps' })
export class ExecutionStepEntity {
  @PrimaryColumn({ name: 'execution_id', type: 'uuid' }) executionId: string;
  @PrimaryColumn({ name: 'step_name', type: 'varchar', length: 255 }) stepName: string;
  @Column({ name: 'step_index', type: 'integer' }) stepIndex: number;
  @Column({ type: 'varchar', length: 20, default: 'pending' }) status: StepStatus;
  @Column({ type: 'integer', default: 0 }) attempts: number;
  @Column({ type: 'jsonb', nullable: true }) result: unknown;
  /** one line and the figures behind it ("Generated 42 forecasts"), from the answer */
  @Column({ name: 'result_summary', type: 'jsonb', nullable: true }) resultSummary: unknown;
  @Column({ name: 'error_message', type: 'text', nullable: true }) errorMessage: string | null;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt: Date | null;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
}
