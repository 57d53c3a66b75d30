import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One audited mutation (table owned by src/auth). */
@Entity({ name: 'orchestrator_audit_log' })
export class AuditEntryEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'timestamptz' }) at: Date;
  @Column({ type: 'varchar', length: 255 }) subject: string;
  @Column({ type: 'text', array: true, default: () => "'{}'" }) roles: string[];
  @Column({ type: 'varchar', length: 10 }) method: string;
  @Column({ type: 'varchar', length: 500 }) route: string;
  @Column({ type: 'varchar', length: 2000 }) path: string;
  @Column({ type: 'varchar', length: 500, nullable: true }) target: string | null;
  @Column({ name: 'status_code', type: 'integer' }) statusCode: number;
  @Column({ type: 'jsonb', nullable: true }) request: unknown;
  @Column({ type: 'jsonb', nullable: true }) before: unknown;
  @Column({ type: 'jsonb', nullable: true }) after: unknown;
  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId: string | null;
}
