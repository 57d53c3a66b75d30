import type { Tenant } from 'src/clients/operation-registry';
import type { Transaction } from 'src/database/transaction';
import type { CalendarRef, DayPolicy } from 'src/common/time/calendar';
import type { OverlapPolicy } from './slot-planner';

/**
 * What the scheduler needs from other modules, in their own words (the facades' method
 * names and signatures), so SchedulingModule binds them with one line each and tests use
 * fakes. WorkflowEntity satisfies ScheduledWorkflow as it is.
 */

export interface ScheduledWorkflow {
  id: string;
  workflowName: string;
  cronExpression: string | null;
  timezone: string;
  isEnabled: boolean;
  nextExecutionAt: Date | null;
  lastExecutionAt: Date | null;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  perTenantTimezone: boolean;
  calendar: CalendarRef;
  holidayPolicy: DayPolicy;
  weekendPolicy: DayPolicy;
  catchUpWindowSeconds: number | null;
  overlapPolicy: OverlapPolicy;
  version: number;
}

/** The workflows module's facade (WorkflowsService). */
export abstract class ScheduleWorkflows {
  /** Enabled workflows with a cron. */
  abstract listSchedulable(): Promise<ScheduledWorkflow[]>;
  /** Every workflow, for GET /schedule. */
  abstract listAll(): Promise<ScheduledWorkflow[]>;
  /** By id or name; throws the workflows module's not-found error. */
  abstract get(idOrName: string): Promise<ScheduledWorkflow>;
  /**
   * UPDATE ... SET next_execution_at = next WHERE id AND next_execution_at = slot AND
   * next_execution_at <= now() (the database clock) AND the caller's term is the newest in
   * orchestrator_leader; when it matched, `handOver` runs in the same transaction and both
   * commit together (a failure or crash in `handOver` leaves the slot unclaimed).
   */
  abstract claimSlot<T>(
    args: { workflowId: string; slot: Date; next: Date | null; term: string },
    handOver: (tx: Transaction) => Promise<T>,
  ): Promise<{ claimed: true; value: T } | { claimed: false }>;
  /** Sets next_execution_at unless the definition changed (version) meanwhile. */
  abstract initNextExecution(
    workflowId: string,
    next: Date | null,
    expectedVersion: number,
  ): Promise<boolean>;
  /** PUT /schedule: all updates validated and stored in one transaction, or none. */
  abstract updateSchedules(
    updates: ScheduleUpdateRequest[],
  ): Promise<{ before: unknown; after: unknown }[]>;
}

/** One workflow's changes, API field names (the workflows facade maps them). */
export interface ScheduleUpdateRequest {
  /** id or name */
  workflow: string;
  cron_expression?: string;
  timezone?: string;
  per_tenant_timezone?: boolean;
  calendar?: { country: string; region?: string | null };
  holiday_policy?: DayPolicy;
  weekend_policy?: DayPolicy;
  catch_up_window_seconds?: number | null;
  overlap_policy?: OverlapPolicy;
}

export type ScheduledExecutionType = 'scheduled' | 'catch_up' | 'backfill';

export interface TenantFilter {
  timezones?: string[];
  tenantIds?: string[];
}

/**
 * What the executions facade reads before a hand-over (the definition, the tenants), so
 * the claim's transaction holds no HTTP call and no other module's read. Opaque here.
 */
export interface HandOverContext {
  readonly workflowId: string;
}

/** A hand-over written in the claim's transaction, stamped with the database clock. */
export interface HandOverWithin {
  tx: Transaction;
  context: HandOverContext;
  now: Date;
}

/** The newest unfinished run of a workflow, for the overlap decision. */
export interface RunInProgress {
  executionId: string;
  startedAt: Date;
  /** a tenant's lease lapsed and nobody has taken it over yet: its runner was interrupted */
  leaseLapsed: boolean;
}

export interface StartRunRequest {
  workflowId: string;
  scheduledFor: Date;
  executionType: ScheduledExecutionType;
  leaderTerm: string | null;
  tenantFilter?: TenantFilter;
}

export interface StartedRun {
  outcome: 'started' | 'duplicate';
  executionId: string;
}

export interface SkippedSlotRequest {
  workflowId: string;
  scheduledFor: Date;
  reason: string;
  leaderTerm: string | null;
}

/** The executions module's facades (ExecutionCommandsService, ExecutionQueriesService). */
export abstract class ScheduleExecutions {
  /** Reads what a hand-over needs; `withTenants` lists them from the tenant service (HTTP). */
  abstract prepareHandOver(workflowId: string, withTenants: boolean): Promise<HandOverContext>;
  /** Idempotent on (workflow, scheduled_for, tenant); `within`: in the claim's transaction. */
  abstract startRun(req: StartRunRequest, within?: HandOverWithin): Promise<StartedRun>;
  /** A parent execution with status skipped and the reason; idempotent on the slot key. */
  abstract recordSkippedSlot(req: SkippedSlotRequest, within?: HandOverWithin): Promise<void>;
  abstract runInProgress(workflowId: string): Promise<RunInProgress | null>;
  /** The latest run (parent execution) of a workflow, for GET /schedule. */
  abstract lastRun(workflowId: string): Promise<LastRun | null>;
}

export interface LastRun {
  executionId: string;
  status: string;
  executionType: string;
  scheduledFor: Date;
  startedAt: Date | null;
  completedAt: Date | null;
}

/** The tenant service (TenantClient), for per-tenant-timezone workflows. */
export abstract class ScheduleTenants {
  abstract listActiveTenants(): Promise<Tenant[]>;
}

/**
 * The clock slots are judged by: in the service the database's (DatabaseClock), which the
 * scheduler asks to re-measure its offset before a pass when the last measurement is older
 * than maxAgeMs; tests pass any Clock.
 */
export abstract class ScheduleClock {
  abstract now(): Date;
  measureIfOlder?(maxAgeMs: number): Promise<void>;
}
