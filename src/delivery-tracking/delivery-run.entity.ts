import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One run of the delivery-tracking job; the one with status 'running' is the lock. */
@Entity({ name: 'orchestrator_delivery_runs' })
export class DeliveryRunEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'job_name', type: 'varchar', length: 100, default: 'delivery_tracking' })
  jobName: string;
  @Column({ type: 'varchar', length: 20, default: 'running' }) status: string;
  @Column({ type: 'varchar', length: 20 }) trigger: string;
  @Column({ type: 'varchar', length: 255 }) holder: string;
  @Column({ name: 'started_at', type: 'timestamptz' }) startedAt: Date;
  @Column({ name: 'lease_expires_at', type: 'timestamptz' }) leaseExpiresAt: Date;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt: Date | null;
  @Column({ type: 'jsonb', nullable: true }) summary: Record<string, unknown> | null;
  @Column({ name: 'error_message', type: 'text', nullable: true }) errorMessage: string | null;
}
