import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** An alert on the orchestrator itself; open while cleared_at is NULL (owned by src/metrics). */
@Entity({ name: 'orchestrator_alerts' })
export class AlertEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'condition_key', type: 'varchar', length: 255 }) conditionKey: string;
  @Column({ type: 'varchar', length: 50 }) kind: string;
  @Column({ name: 'workflow_name', type: 'varchar', length: 255, nullable: true })
  workflowName: string | null;
  @Column({ type: 'varchar', length: 20 }) severity: string;
  @Column({ type: 'text' }) message: string;
  @Column({ type: 'jsonb', nullable: true }) details: Record<string, unknown> | null;
  @Column({ name: 'opened_at', type: 'timestamptz' }) openedAt: Date;
  @Column({ name: 'cleared_at', type: 'timestamptz', nullable: true }) clearedAt: Date | null;
  @Column({ name: 'cleared_reason', type: 'text', nullable: true }) clearedReason: string | null;
  @Column({ name: 'event_id', type: 'uuid', nullable: true }) eventId: string | null;
}
