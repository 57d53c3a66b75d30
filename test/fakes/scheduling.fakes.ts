import type { Tenant } from 'src/clients/operation-registry';
import { AppError } from 'src/common/errors/app-error';
import type { Transaction } from 'src/database/transaction';
import {
  HandOverContext,
  HandOverWithin,
  LastRun,
  RunInProgress,
  ScheduledWorkflow,
  ScheduleExecutions,
  ScheduleTenants,
  ScheduleUpdateRequest,
  ScheduleWorkflows,
  SkippedSlotRequest,
  StartedRun,
  StartRunRequest,
  TenantFilter,
} from 'src/scheduling/scheduling.ports';

/** In-memory stand-ins for the facades the scheduler calls, for unit tests. */

export { FakeClock } from './fake-clock';

/**
 * The claim's transaction: the executions fake stages its writes here; the workflows fake
 * applies them only when the hand-over returned (commit), drops them when it threw.
 */
export class FakeTransaction {
  staged: (() => void)[] = [];
}

export function scheduledWorkflow(overrides: Partial<ScheduledWorkflow> = {}): ScheduledWorkflow {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    workflowName: 'daily_operations',
    cronExpression: '0 8 * * *',
    timezone: 'Europe/Madrid',
    isEnabled: true,
    nextExecutionAt: null,
    lastExecutionAt: null,
    lastSuccessAt: null,
    lastFailureAt: null,
    perTenantTimezone: false,
    calendar: { country: 'ES', region: 'MD' },
    holidayPolicy: 'run',
    weekendPolicy: 'run',
    catchUpWindowSeconds: null,
    overlapPolicy: 'skip',
    version: 1,
    ...overrides,
  };
}

/** Workflows with the facade's conditional-update semantics, including the term fence. */
export class InMemoryScheduleWorkflows extends ScheduleWorkflows {
  rows = new Map<string, ScheduledWorkflow>();
  /** orchestrator_leader.term */
  leaderTerm = '1';
  updates: ScheduleUpdateRequest[][] = [];
  failUpdate: Error | null = null;

  add(workflow: ScheduledWorkflow): ScheduledWorkflow {
    this.rows.set(workflow.id, { ...workflow });
    return workflow;
  }
  row(id: string): ScheduledWorkflow {
    return this.rows.get(id)!;
  }
  async listSchedulable(): Promise<ScheduledWorkflow[]> {
    return [...this.rows.values()]
      .filter((w) => w.isEnabled && w.cronExpression)
      .map((w) => ({ ...w }));
  }
  async listAll(): Promise<ScheduledWorkflow[]> {
    return [...this.rows.values()].map((w) => ({ ...w }));
  }
  async get(idOrName: string): Promise<ScheduledWorkflow> {
    const found = [...this.rows.values()].find(
      (w) => w.id === idOrName || w.workflowName === idOrName,
    );
    if (!found) throw new AppError('WORKFLOW_NOT_FOUND', `Workflow "${idOrName}" not found`);
    return { ...found };
  }
  /** the database clock (now() in the claim); null: any slot is due */
  databaseNow: Date | null = null;
  async claimSlot<T>(
    args: { workflowId: string; slot: Date; next: Date | null; term: string },
    handOver: (tx: Transaction) => Promise<T>,
  ): Promise<{ claimed: true; value: T } | { claimed: false }> {
    const row = this.rows.get(args.workflowId);
    if (
      !row ||
      row.nextExecutionAt?.getTime() !== args.slot.getTime() ||
      (this.databaseNow !== null && args.slot > this.databaseNow) ||
      args.term !== this.leaderTerm
    ) {
      return { claimed: false };
    }
    const tx = new FakeTransaction();
    const value = await handOver(tx as unknown as Transaction); // a throw: nothing applied
    row.nextExecutionAt = args.next;
    row.lastExecutionAt = args.slot;
    for (const write of tx.staged) write();
    return { claimed: true, value };
  }
  async initNextExecution(
    workflowId: string,
    next: Date | null,
    expectedVersion: number,
  ): Promise<boolean> {
    const row = this.rows.get(workflowId);
    if (!row || row.version !== expectedVersion) return false;
    row.nextExecutionAt = next;
    return true;
  }
  async updateSchedules(
    updates: ScheduleUpdateRequest[],
  ): Promise<{ before: unknown; after: unknown }[]> {
    if (this.failUpdate) throw this.failUpdate;
    this.updates.push(updates);
    return updates.map((u) => ({ before: { workflow: u.workflow }, after: u }));
  }
}

export interface RecordedExecution {
  workflowId: string;
  scheduledFor: Date;
  status: 'running' | 'completed' | 'skipped';
  executionType: string;
  reason?: string;
  leaderTerm: string | null;
  tenantFilter?: TenantFilter;
  executionId: string;
}

/** Parent executions keyed by (workflow, scheduled_for), as the unique index keys them. */
export class InMemoryScheduleExecutions extends ScheduleExecutions {
  byKey = new Map<string, RecordedExecution>();
  /** a previous run is unfinished */
  running = false;
  runStartedAt = new Date('2000-01-01T00:00:00Z');
  leaseLapsed = false;
  /** `now` each hand-over was stamped with */
  stampedAt: Date[] = [];
  failNext = 0;
  failPrepare: Error | null = null;
  private seq = 0;

  private key(workflowId: string, at: Date) {
    return `${workflowId}|${at.toISOString()}`;
  }
  get runs(): RecordedExecution[] {
    return [...this.byKey.values()].filter((e) => e.status !== 'skipped');
  }
  get skips(): RecordedExecution[] {
    return [...this.byKey.values()].filter((e) => e.status === 'skipped');
  }
  private maybeFail() {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('database unavailable');
    }
  }
  /** in the claim's transaction: written when it commits; otherwise at once */
  private write(within: HandOverWithin | undefined, apply: () => void) {
    if (!within) return apply();
    this.stampedAt.push(within.now);
    (within.tx as unknown as FakeTransaction).staged.push(apply);
  }
  async prepareHandOver(workflowId: string): Promise<HandOverContext> {
    if (this.failPrepare) throw this.failPrepare;
    return { workflowId };
  }
  async startRun(req: StartRunRequest, within?: HandOverWithin): Promise<StartedRun> {
    this.maybeFail();
    const key = this.key(req.workflowId, req.scheduledFor);
    const existing = this.byKey.get(key);
    if (existing) return { outcome: 'duplicate', executionId: existing.executionId };
    const executionId = `exec-${++this.seq}`;
    this.write(within, () => this.byKey.set(key, { ...req, status: 'running', executionId }));
    return { outcome: 'started', executionId };
  }
  async recordSkippedSlot(req: SkippedSlotRequest, within?: HandOverWithin): Promise<void> {
    this.maybeFail();
    const key = this.key(req.workflowId, req.scheduledFor);
    if (this.byKey.has(key)) return;
    const executionId = `exec-${++this.seq}`;
    this.write(within, () =>
      this.byKey.set(key, { ...req, status: 'skipped', executionType: 'scheduled', executionId }),
    );
  }
  async runInProgress(): Promise<RunInProgress | null> {
    return this.running
      ? { executionId: 'previous-run', startedAt: this.runStartedAt, leaseLapsed: this.leaseLapsed }
      : null;
  }
  async lastRun(workflowId: string): Promise<LastRun | null> {
    const mine = [...this.byKey.values()].filter((e) => e.workflowId === workflowId);
    const last = mine[mine.length - 1];
    return last
      ? {
          executionId: last.executionId,
          status: last.status,
          executionType: last.executionType,
          scheduledFor: last.scheduledFor,
          startedAt: null,
          completedAt: null,
        }
      : null;
  }
}

export class FakeScheduleTenants extends ScheduleTenants {
  failure: Error | null = null;
  calls = 0;
  constructor(public tenants: Tenant[] = []) {
    super();
  }
  async listActiveTenants(): Promise<Tenant[]> {
    this.calls++;
    if (this.failure) throw this.failure;
    return this.tenants.map((t) => ({ ...t }));
  }
}

export function tenant(
  id: string,
  timezone: string,
  region: { country: string; region?: string | null },
): Tenant {
  return {
    id,
    name: `bakery ${id}`,
    status: 'active',
    subscription_tier: 'starter',
    timezone,
    region,
  };
}
