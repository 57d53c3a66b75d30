import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Whether each tenant of a run finished before its deadline (owned by src/metrics). */
@Entity({ name: 'orchestrator_deadline_results' })
export class DeadlineResultEntity {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' }) runId: string;
  @Column({ name: 'workflow_name', type: 'varchar', length: 255 }) workflowName: string;
  @Column({ name: 'local_date', type: 'date' }) localDate: string;
  @Column({ name: 'tenants_total', type: 'integer' }) tenantsTotal: number;
  @Column({ name: 'tenants_on_time', type: 'integer' }) tenantsOnTime: number;
  @Column({ name: 'tenants_missed', type: 'integer' }) tenantsMissed: number;
  @Column({ name: 'by_tier', type: 'jsonb' }) byTier: Record<string, unknown>;
  @Column({ name: 'evaluated_at', type: 'timestamptz' }) evaluatedAt: Date;
}
