import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Singleton row (id = 1): who leads, since when, and the fencing term. */
@Entity({ name: 'orchestrator_leader' })
export class LeaderEntity {
  @PrimaryColumn({ type: 'integer', default: 1 }) id: number;
  @Column({ name: 'instance_id', type: 'varchar', length: 255 }) instanceId: string;
  @Column({ name: 'instance_hostname', type: 'varchar', length: 255, nullable: true })
  instanceHostname: string | null;
  @Column({ name: 'became_leader_at', type: 'timestamptz' }) becameLeaderAt: Date;
  @Column({ name: 'last_heartbeat_at', type: 'timestamptz' }) lastHeartbeatAt: Date;
  @Column({ name: 'heartbeat_interval_seconds', type: 'integer', default: 30 })
  heartbeatIntervalSeconds: number;
  @Column({ type: 'bigint', default: 0 }) term: string;
}
