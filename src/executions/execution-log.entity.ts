import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type LogLevel = 'info' | 'warning' | 'error';

@Entity({ name: 'orchestrator_execution_logs' })
export class ExecutionLogEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'execution_id', type: 'uuid', nullable: true }) executionId: string | null;
  @Column({ name: 'step_name', type: 'varchar', length: 255 }) stepName: string;
  @Column({ name: 'step_index', type: 'integer' }) stepIndex: number;
  @Column({ name: 'log_level', type: 'varchar', length: 50 }) logLevel: LogLevel;
  @Column({ name: 'log_message', type: 'text' }) logMessage: string;
  @Column({ name: 'log_data', type: 'jsonb', nullable: true }) logData: unknown;
  @Column({ name: 'logged_at', type: 'timestamptz', default: () => 'NOW()' }) loggedAt: Date;
}
