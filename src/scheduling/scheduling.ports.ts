import type { Tenant } from 'src/clients/operation-registry';
import type { CalendarRef, DayPolicy } from './calendar';
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
   * UPDATE ... SET next_execution_at = next WHERE id AND next_execution_at = slot AND the
   * caller's term is the newest in orchestrator_leader; true when it matched.
   */
  abstract claimSlot(args: {
    workflowId: string;
    slot: Date;
    next: Date | null;
    term: string;
  }): Promise<boolean>;
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

/** The executions module's facade (ExecutionsService). */
export abstract class ScheduleExecutions {
  /** Idempotent on (workflow, scheduled_for, tenant). */
  abstract startRun(req: {
    workflowId: string;
    scheduledFor: Date;
    executionType: ScheduledExecutionType;
    leaderTerm: string | null;
    tenantFilter?: TenantFilter;
  }): Promise<{ outcome: 'started' | 'duplicate'; executionId: string }>;
  /** A parent execution with status skipped and the reason; idempotent on the slot key. */
  abstract recordSkippedSlot(req: {
    workflowId: string;
    scheduledFor: Date;
    reason: string;
    leaderTerm: string | null;
  }): Promise<void>;
  abstract hasRunInProgress(workflowId: string): Promise<boolean>;
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
