import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type OutboxStatus = 'pending' | 'sent' | 'unroutable';

/** An event written in the same transaction as the state change it reports (guarantee 5). */
@Entity({ name: 'orchestrator_outbox' })
export class OutboxEventEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 255 }) exchange: string;
  @Column({ name: 'routing_key', type: 'varchar', length: 255 }) routingKey: string;
  @Column({ type: 'jsonb' }) payload: Record<string, unknown>;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'NOW()' }) createdAt: Date;
  @Column({ name: 'available_at', type: 'timestamptz', default: () => 'NOW()' }) availableAt: Date;
  @Column({ type: 'integer', default: 0 }) attempts: number;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError: string | null;
  /** pending, sent, or unroutable (returned by the broker: no queue bound; retried) */
  @Column({ type: 'varchar', length: 16, default: 'pending' }) status: OutboxStatus;
  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true }) sentAt: Date | null;
}
