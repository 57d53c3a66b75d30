import { Injectable, Logger } from '@nestjs/common';
import type { Tenant } from 'src/clients/operation-registry';
import { Clock } from 'src/common/time/clock';
import { CronTimeError, localIso } from 'src/common/time/cron-time';
import { BackfillDto, NextRunQuery, UpdateScheduleDto } from './dto/schedule.dto';
import {
  BackfillSlotView,
  BackfillView,
  NextRunView,
  ScheduleEntryView,
} from './dto/schedule.view';
import { SchedulerSettings } from './workflow-scheduler.service';
import {
  ScheduledWorkflow,
  ScheduleExecutions,
  ScheduleTenants,
  ScheduleUpdateRequest,
  ScheduleWorkflows,
  TenantFilter,
} from './scheduling.ports';
import { SchedulingError, SchedulingErrorCode } from './scheduling.errors';
import { previewRuns, previewRunsSteps, ScheduleUnit, SlotCalculator } from './slot-planner';
import { runStepsCooperatively } from 'src/common/time/steps';
import { tenantFilterFor, unitsOfTenants } from './tenant-units';

/** At most this many slots per backfill call, so one request cannot enqueue a year of minutes. */
export const MAX_BACKFILL_SLOTS = 1000;
/**
 * Ranges longer than this many times MAX_BACKFILL_SLOTS cron periods are refused unread. For
 * a regular cron (hourly, daily, weekdays, weekly) more than half the slots of such a range
 * remain with weekends and holidays skipped, so it would be refused anyway; an irregular one
 * ("1,2 of the month") may be refused a range it could serve, and the caller splits it.
 */
const BACKFILL_SPAN_FACTOR = 2;
const DEFAULT_NEXT_RUN_COUNT = 5;

/** The schedule API: read, preview, change (through the workflows facade) and backfill. */
@Injectable()
export class ScheduleService {
  private readonly logger = new Logger(ScheduleService.name);

  constructor(
    private readonly workflows: ScheduleWorkflows,
    private readonly executions: ScheduleExecutions,
    private readonly tenants: ScheduleTenants,
    private readonly clock: Clock,
    private readonly settings: SchedulerSettings,
  ) {}

  /** GET /schedule: every workflow with its policies, next run and last run. */
  async schedule(): Promise<ScheduleEntryView[]> {
    return this.entries(await this.workflows.listAll());
  }

  private async entries(workflows: ScheduledWorkflow[]): Promise<ScheduleEntryView[]> {
    const tenants = workflows.some((w) => w.perTenantTimezone) ? await this.tenantsOrNull() : null;
    const now = this.clock.now();
    return Promise.all(
      workflows.map(async (w) => {
        const calculator = this.calculatorOrNull(w, tenants);
        const lastRun = await this.executions.lastRun(w.id);
        return {
          workflow_id: w.id,
          workflow_name: w.workflowName,
          is_enabled: w.isEnabled,
          cron_expression: w.cronExpression,
          timezone: w.timezone,
          per_tenant_timezone: w.perTenantTimezone,
          calendar: w.calendar,
          holiday_policy: w.holidayPolicy,
          weekend_policy: w.weekendPolicy,
          catch_up_window_seconds: w.catchUpWindowSeconds,
          effective_catch_up_window_seconds: calculator
            ? Math.round(calculator.catchUpWindowMs / 1000)
            : null,
          overlap_policy: w.overlapPolicy,
          next_execution_at: w.nextExecutionAt,
          next_run: calculator && w.isEnabled ? (previewRuns(calculator, now, 1)[0] ?? null) : null,
          last_run: lastRun
            ? {
                execution_id: lastRun.executionId,
                scheduled_for: lastRun.scheduledFor,
                status: lastRun.status,
                execution_type: lastRun.executionType,
                started_at: lastRun.startedAt,
                completed_at: lastRun.completedAt,
              }
            : null,
          last_status: lastRun?.status ?? null,
          last_success_at: w.lastSuccessAt,
          last_failure_at: w.lastFailureAt,
        };
      }),
    );
  }

  /** GET /schedule/next-run: the next N runs of one or every scheduled workflow, skips left out. */
  async nextRuns(query: NextRunQuery): Promise<NextRunView[]> {
    const count = query.count ?? DEFAULT_NEXT_RUN_COUNT;
    const targets = query.workflow
      ? [await this.workflows.get(query.workflow)]
      : (await this.workflows.listAll()).filter((w) => w.isEnabled && w.cronExpression);
    const tenants = targets.some((w) => w.perTenantTimezone) ? await this.tenantsOrNull() : null;
    const now = this.clock.now();
    const views: NextRunView[] = [];
    for (const w of targets) {
      const calculator = w.isEnabled ? this.calculatorOrNull(w, tenants) : null;
      views.push({
        workflow: w.workflowName,
        workflow_id: w.id,
        timezone: w.timezone,
        // hundreds of slots cost hundreds of ms of CPU: computed in slices between which
        // the event loop serves other requests and the health checks
        slots: calculator
          ? await runStepsCooperatively(previewRunsSteps(calculator, now, count))
          : [],
      });
    }
    return views;
  }

  /**
   * PUT /schedule. Field values were validated by the DTO with the scheduler's own
   * validators; here what needs the whole request. The workflows facade stores every
   * update in one transaction or none (and checks the workflows exist).
   */
  async update(dto: UpdateScheduleDto): Promise<{
    entries: ScheduleEntryView[];
    change: { before: unknown[]; after: unknown[]; target: string };
  }> {
    const problems: { field: string; message: string }[] = [];
    const seen = new Map<string, number>();
    dto.workflows.forEach((u, i) => {
      if (
        Object.keys(u).filter(
          (k) => k !== 'workflow' && (u as unknown as Record<string, unknown>)[k] !== undefined,
        ).length === 0
      ) {
        problems.push({ field: `workflows[${i}]`, message: 'names no schedule field to change' });
      }
      const first = seen.get(u.workflow);
      if (first !== undefined) {
        problems.push({
          field: `workflows[${i}].workflow`,
          message: `"${u.workflow}" is already workflows[${first}]`,
        });
      } else {
        seen.set(u.workflow, i);
      }
    });
    if (problems.length > 0) throw SchedulingError.invalid(problems);
    const updates: ScheduleUpdateRequest[] = dto.workflows.map((u) => ({ ...u }));
    const changes = await this.workflows.updateSchedules(updates);
    this.logger.log({ msg: 'schedules updated', workflows: updates.map((u) => u.workflow) });
    // names are lower case (^[a-z][a-z0-9_]*$) and so are stored ids; a UUID may come in
    // upper case
    const names = new Set(updates.map((u) => u.workflow.toLowerCase()));
    // only the updated workflows' entries: no last-run query for the others
    const entries = await this.entries(
      (await this.workflows.listAll()).filter((w) => names.has(w.id) || names.has(w.workflowName)),
    );
    return {
      entries,
      change: {
        before: changes.map((c) => c.before),
        after: changes.map((c) => c.after),
        target: updates.map((u) => u.workflow).join(','),
      },
    };
  }

  /**
   * POST /workflows/{id}/backfill: a run for every past slot of the range (calendar
   * policies applied, oldest first). startRun runs a skipped or missed slot, and a slot
   * that already ran only for its tenants with no completed execution, serialised per
   * slot: a repeated or concurrent call creates nothing new.
   */
  async backfill(idOrName: string, dto: BackfillDto): Promise<BackfillView> {
    const workflow = await this.workflows.get(idOrName);
    const from = new Date(dto.from);
    const to = new Date(dto.to);
    const now = this.clock.now();
    const problems: { field: string; message: string }[] = [];
    if (!workflow.cronExpression) {
      problems.push({
        field: 'workflow_id',
        message: `${workflow.workflowName} has no cron_expression, so no slots`,
      });
    }
    if (to <= from) problems.push({ field: 'to', message: 'must be later than from' });
    if (to > now)
      problems.push({
        field: 'to',
        message: `must not be in the future (now ${now.toISOString()})`,
      });
    if (problems.length > 0) throw SchedulingError.invalid(problems);
    // checked before anything is listed: walking the cron from 1000-01-01 took minutes with
    // the event loop blocked. periodMs is the shortest gap between two slots, so a range of
    // more than MAX_BACKFILL_SLOTS periods may hold too many slots (counted exactly below),
    // and one of more than BACKFILL_SPAN_FACTOR times that is refused outright
    const own: ScheduleUnit = { timezone: workflow.timezone, calendar: workflow.calendar };
    const { periodMs } = this.calculatorOrThrow(workflow, [own]);
    const span = to.getTime() - from.getTime();
    if (Number.isFinite(periodMs) && span > periodMs * MAX_BACKFILL_SLOTS * BACKFILL_SPAN_FACTOR) {
      throw SchedulingError.invalid([
        {
          field: 'from',
          message: `the range spans more than ${MAX_BACKFILL_SLOTS * BACKFILL_SPAN_FACTOR} periods of "${workflow.cronExpression}"; at most ${MAX_BACKFILL_SLOTS} slots per call, split the range`,
        },
      ]);
    }

    const needsTenants = workflow.perTenantTimezone || dto.tenant_ids !== undefined;
    const tenants = needsTenants ? await this.tenantsOrThrow() : [];
    const wanted = dto.tenant_ids ? new Set(dto.tenant_ids) : null;
    if (dto.tenant_ids) {
      const active = new Set(tenants.map((t) => t.id));
      const unknown = dto.tenant_ids
        .map((id, i) => ({ id, i }))
        .filter(({ id }) => !active.has(id))
        .map(({ id, i }) => ({
          field: `tenant_ids[${i}]`,
          message: `${id} is not an active tenant`,
        }));
      if (unknown.length > 0) throw SchedulingError.invalid(unknown);
    }
    const calculator = this.calculatorOrThrow(workflow, this.units(workflow, tenants));
    // the slot after the last allowed one, found by looking only as far as it
    const probe =
      span > periodMs * MAX_BACKFILL_SLOTS
        ? await runStepsCooperatively(
            calculator.nextEventsSteps(new Date(from.getTime() - 1), MAX_BACKFILL_SLOTS + 1, {
              runsOnly: true,
            }),
          )
        : [];
    if (probe.length > MAX_BACKFILL_SLOTS && probe[MAX_BACKFILL_SLOTS].at <= to) {
      throw SchedulingError.invalid([
        {
          field: 'from',
          message: `the range holds more than ${MAX_BACKFILL_SLOTS} slots; at most ${MAX_BACKFILL_SLOTS} per call`,
        },
      ]);
    }
    const { events } = await runStepsCooperatively(
      calculator.eventsBetweenSteps(new Date(from.getTime() - 1), to),
    );
    const runs = events.filter((e) => e.kind === 'run');
    if (runs.length > MAX_BACKFILL_SLOTS) {
      throw SchedulingError.invalid([
        {
          field: 'from',
          message: `the range holds ${runs.length} slots; at most ${MAX_BACKFILL_SLOTS} per call`,
        },
      ]);
    }

    const slots: BackfillSlotView[] = [];
    for (const run of runs) {
      const local = localIso(run.at, run.parts[0].unit.timezone);
      let filter: TenantFilter | undefined = workflow.perTenantTimezone
        ? tenantFilterFor(
            run.parts.map((p) => p.unit),
            tenants,
            own,
          )
        : undefined;
      if (wanted) {
        const due = filter ? selectedBy(filter, tenants) : tenants;
        filter = { tenantIds: due.filter((t) => wanted.has(t.id)).map((t) => t.id) };
        if (filter.tenantIds!.length === 0) {
          slots.push({ scheduled_for: run.at.toISOString(), local, outcome: 'no_tenants' });
          continue;
        }
      }
      const result = await this.executions.startRun({
        workflowId: workflow.id,
        scheduledFor: run.at,
        executionType: 'backfill',
        leaderTerm: null,
        ...(filter ? { tenantFilter: filter } : {}),
      });
      slots.push({
        scheduled_for: run.at.toISOString(),
        local,
        outcome: result.outcome,
        execution_id: result.executionId,
      });
    }
    const started = slots.filter((s) => s.outcome === 'started').length;
    this.logger.log({
      msg: 'backfill',
      workflowId: workflow.id,
      from: dto.from,
      to: dto.to,
      slots: slots.length,
      started,
    });
    return {
      workflow: workflow.workflowName,
      workflow_id: workflow.id,
      from: from.toISOString(),
      to: to.toISOString(),
      started,
      duplicates: slots.filter((s) => s.outcome === 'duplicate').length,
      slots,
    };
  }

  private units(workflow: ScheduledWorkflow, tenants: Tenant[] | null): ScheduleUnit[] {
    const own = { timezone: workflow.timezone, calendar: workflow.calendar };
    return workflow.perTenantTimezone && tenants ? unitsOfTenants(tenants, own) : [own];
  }

  private calculatorOrNull(
    workflow: ScheduledWorkflow,
    tenants: Tenant[] | null,
  ): SlotCalculator | null {
    if (!workflow.cronExpression) return null;
    try {
      return this.calculatorOrThrow(workflow, this.units(workflow, tenants));
    } catch (err) {
      if (err instanceof SchedulingError) return null;
      throw err;
    }
  }

  private calculatorOrThrow(workflow: ScheduledWorkflow, units: ScheduleUnit[]): SlotCalculator {
    try {
      return new SlotCalculator(
        { ...workflow, cronExpression: workflow.cronExpression ?? '' },
        units,
        {
          allowSeconds: this.settings.allowSecondsCron,
        },
      );
    } catch (err) {
      if (!(err instanceof CronTimeError)) throw err;
      throw SchedulingError.invalid([{ field: 'cron_expression', message: err.message }]);
    }
  }

  /** For previews: without the tenant service, per-tenant workflows show their own zone. */
  private async tenantsOrNull(): Promise<Tenant[] | null> {
    try {
      return await this.tenants.listActiveTenants();
    } catch (err) {
      this.logger.warn({
        msg: 'tenant service unavailable; previews use workflow timezones',
        error: (err as Error).message,
      });
      return null;
    }
  }

  private async tenantsOrThrow(): Promise<Tenant[]> {
    try {
      return await this.tenants.listActiveTenants();
    } catch (err) {
      throw new SchedulingError(
        SchedulingErrorCode.TenantsUnavailable,
        `cannot list tenants from the tenant service: ${(err as Error).message}`,
      );
    }
  }
}

function selectedBy(filter: TenantFilter, tenants: Tenant[]): Tenant[] {
  if (filter.tenantIds) {
    const ids = new Set(filter.tenantIds);
    return tenants.filter((t) => ids.has(t.id));
  }
  const zones = new Set(filter.timezones ?? []);
  return tenants.filter((t) => zones.has(t.timezone));
}
