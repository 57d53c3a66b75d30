import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Tenant } from 'src/clients/operation-registry';
import { PeriodicJob, PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { LeaderGate } from 'src/common/jobs/leader-gate';
import { CronTimeError } from 'src/common/time/cron-time';
import { decideOverlap } from './overlap';
import {
  HandOverWithin,
  ScheduleClock,
  ScheduleExecutions,
  ScheduledWorkflow,
  ScheduleTenants,
  ScheduleWorkflows,
  TenantFilter,
} from './scheduling.ports';
import {
  ON_TIME_TOLERANCE_MS,
  planDueEvents,
  ScheduleUnit,
  SlotAction,
  SlotCalculator,
  unitKey,
} from './slot-planner';
import { tenantFilterFor, unitsOfTenants } from './tenant-units';

/** Tunables; the defaults serve production, tests shorten them. */
export class SchedulerSettings {
  /** Every instance re-reads the workflows this often, so API changes apply without restart. */
  recheckMs = 2_000;
  /** Six-field (seconds) crons: only for tests and the lateness benchmark. */
  allowSecondsCron = false;
  /** How long a tenant list is reused to compute per-tenant-timezone slots. */
  tenantCacheMs = 60_000;
  /** Start the loop at application bootstrap (tests drive tick() by hand instead). */
  autoStart = true;
  /** The database clock offset is re-measured before a pass when older than this. */
  clockMaxAgeMs = 10_000;
  /**
   * Test hook (ORCH_TEST_CRASH_AFTER_CLAIM, NODE_ENV=test only): called inside the claim's
   * transaction right after the claim, before the hand-over; the e2e test kills the process here.
   */
  afterClaim: (() => void) | null = null;

  constructor(overrides: Partial<SchedulerSettings> = {}) {
    Object.assign(this, overrides);
  }
}

/** What one pass did, for tests, the benchmark and debug logs. */
export interface TickReport {
  workflows: number;
  claimed: { workflowId: string; slot: Date; next: Date | null }[];
  refused: { workflowId: string; slot: Date }[];
  actions: (SlotAction & { workflowId: string; outcome: string })[];
}

/** The scheduler's PeriodicJobs job; its next-slot wake-up is `workflow-scheduler.recheck.wake`. */
export const SCHEDULER_JOB = 'workflow-scheduler.recheck';

/**
 * Turns due cron slots into runs, on the leader only (docs/architecture.md "From a slot to
 * work", guarantees 1, 2 and 7).
 *
 * The schedule lives in PostgreSQL (`next_execution_at`); this class keeps no state that a
 * restart or a failover could lose, beyond retrying its own hand-overs. Each pass reads the
 * schedulable workflows and, for each one:
 * - sets next_execution_at when it is null (new, enabled, or its cron/timezone changed);
 * - when it is due, plans the due events (slot-planner.ts), claims them with one fenced
 *   conditional update that also advances next_execution_at, and only then records skips
 *   and starts the run through the executions facade (idempotent on the slot key).
 * A pass is a leader-only PeriodicJobs job (`workflow-scheduler.recheck`) every `recheckMs`;
 * in between, the job's wake-up (`wakeIn`) runs it at the nearest slot, so a slot fires
 * within a few milliseconds of its time.
 */
@Injectable()
export class WorkflowSchedulerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkflowSchedulerService.name);
  private currentTerm: string | null = null;
  private leaderSince: Date | null = null;
  /** last failed read of the schedule: the database was unreachable (decideOverlap) */
  private databaseUnreachableAt: Date | null = null;
  /** runs seen interrupted (a lapsed lease) stay so after another instance took them over */
  private interruptedRuns = new Set<string>();
  /** the slot each workflow was last logged waiting for because of an outage */
  private outageWaits = new Map<string, number>();
  private calculators = new Map<string, { key: string; calculator: SlotCalculator | null }>();
  private tenantCache: { atMs: number; tenants: Tenant[] } | null = null;
  private readonly job: PeriodicJob<TickReport>;

  constructor(
    private readonly leader: LeaderGate,
    private readonly workflows: ScheduleWorkflows,
    private readonly executions: ScheduleExecutions,
    private readonly tenants: ScheduleTenants,
    private readonly clock: ScheduleClock,
    private readonly settings: SchedulerSettings,
    // tests and the benchmark that build the scheduler by hand get a PeriodicJobs of their own
    @Optional() jobs: PeriodicJobs = new PeriodicJobs(new SchedulerRegistry(), leader),
  ) {
    this.job = jobs.define(
      SCHEDULER_JOB,
      { everyMs: settings.recheckMs },
      // a tick during a pass makes the pass run once more: what changed meanwhile is seen
      { leaderOnly: true, overlap: 'run-again', run: (term) => this.schedulePass(term) },
    );
  }

  onApplicationBootstrap(): void {
    if (this.settings.autoStart) this.start();
  }

  beforeApplicationShutdown(): void {
    this.stop();
  }

  start(): void {
    this.job.start();
    void this.tick();
  }

  stop(): void {
    this.job.stop();
  }

  /**
   * One pass, through the leader gate: only the leader schedules, and its writes carry its
   * term. Never rejects (a failure is logged and the next pass retries) and never overlaps
   * itself: a call during a pass makes that pass run once more instead. Returns undefined
   * on a follower, during a pass, or after a failure.
   */
  tick(): Promise<TickReport | undefined> {
    return this.job.runNow();
  }

  private async schedulePass(term: string): Promise<TickReport> {
    const report: TickReport = { workflows: 0, claimed: [], refused: [], actions: [] };
    const newTerm = term !== this.currentTerm;
    if (newTerm) {
      this.forgetLeadership();
      this.currentTerm = term;
      this.leaderSince = this.clock.now();
      this.logger.log({ msg: 'scheduling as leader', term });
    }
    await this.clock.measureIfOlder?.(this.settings.clockMaxAgeMs);
    let workflows: ScheduledWorkflow[];
    try {
      workflows = await this.workflows.listSchedulable();
    } catch (err) {
      this.databaseUnreachableAt = this.clock.now();
      throw err;
    }
    report.workflows = workflows.length;
    let wakeAt: number | null = null;
    for (const workflow of workflows) {
      try {
        const next = await this.scheduleWorkflow(workflow, term, report);
        if (next) wakeAt = wakeAt === null ? next.getTime() : Math.min(wakeAt, next.getTime());
      } catch (err) {
        this.logger.error({
          msg: 'scheduling a workflow failed; retried on the next pass',
          workflowId: workflow.id,
          workflow: workflow.workflowName,
          error: (err as Error).message,
        });
      }
    }
    this.armTimer(wakeAt);
    return report;
  }

  /** Returns when this workflow next needs a pass (null: the periodic re-check is enough). */
  private async scheduleWorkflow(
    workflow: ScheduledWorkflow,
    term: string,
    report: TickReport,
  ): Promise<Date | null> {
    const calculator = await this.calculatorFor(workflow);
    if (!calculator) return null;
    const now = this.clock.now();
    const cursor = workflow.nextExecutionAt;

    if (!cursor) {
      const next = calculator.nextEventAfter(now)?.at ?? null;
      const stored = await this.workflows.initNextExecution(workflow.id, next, workflow.version);
      if (stored)
        this.logger.log({
          msg: 'next slot set',
          workflowId: workflow.id,
          next: next?.toISOString(),
        });
      return stored ? next : null;
    }

    if (cursor > now) {
      // the definition can make an earlier event appear (a tenant in a new zone, a calendar
      // policy change); pull next_execution_at forward rather than miss it
      const first = calculator.nextEventAfter(now)?.at;
      if (
        first &&
        first < cursor &&
        (await this.workflows.initNextExecution(workflow.id, first, workflow.version))
      ) {
        return first;
      }
      return cursor;
    }

    const overlap = decideOverlap({
      policy: workflow.overlapPolicy,
      run: await this.runInProgress(workflow),
      leaderSince: this.leaderSince,
      databaseUnreachableAt: this.databaseUnreachableAt,
    });
    const plan = planDueEvents({
      calculator,
      cursor,
      now,
      runInProgress: overlap.runInProgress,
      overlapPolicy: overlap.policy,
      leaderSince: this.leaderSince,
    });
    if (plan.buffered && overlap.outage && this.outageWaits.get(workflow.id) !== +plan.buffered) {
      // once per slot, not on every pass while it waits
      this.outageWaits.set(workflow.id, +plan.buffered);
      this.logger.warn({
        msg: 'slot waits for the previous run, late because of an outage',
        workflowId: workflow.id,
        workflow: workflow.workflowName,
        slot: plan.buffered.toISOString(),
        previousRun: overlap.runId,
        outage: overlap.outage,
      });
    }
    if (plan.claim) {
      const handed = await this.claimAndHandOver(workflow, plan.claim, plan.actions, term);
      if (!handed) {
        // another scheduler claimed it, a newer term exists, or the database clock says it
        // is not due yet (this instance's clock is ahead): either way nothing happened
        report.refused.push({ workflowId: workflow.id, slot: plan.claim.slot });
        this.logger.warn({
          msg: 'slot claim refused',
          workflowId: workflow.id,
          slot: plan.claim.slot.toISOString(),
          term,
        });
        return null;
      }
      report.claimed.push({ workflowId: workflow.id, ...plan.claim });
      for (const h of handed) {
        this.logHandOver(workflow, h.action, h.outcome, h.executionId);
        report.actions.push({ ...h.action, workflowId: workflow.id, outcome: h.outcome });
      }
    }
    // a buffered slot waits for the previous run: the periodic re-check looks again
    return plan.buffered ? null : (plan.claim?.next ?? null);
  }

  /** The unfinished run the overlap policy asks about; `allow` does not ask. */
  private async runInProgress(workflow: ScheduledWorkflow) {
    if (workflow.overlapPolicy === 'allow') return null;
    const run = await this.executions.runInProgress(workflow.id);
    if (!run) return null;
    if (run.leaseLapsed) this.interruptedRuns.add(run.executionId);
    return { ...run, leaseLapsed: this.interruptedRuns.has(run.executionId) };
  }

  /**
   * Claims the slot and hands its actions (skip records, the run) to the engine in ONE
   * transaction, so a crash or a failure between them loses nothing: the claim rolls back
   * with them and the next pass plans the slot again. What needs HTTP or another module's
   * reads (the tenant list, the definition) is fetched before the transaction opens.
   * Returns null when the claim was refused.
   */
  private async claimAndHandOver(
    workflow: ScheduledWorkflow,
    claim: { slot: Date; next: Date | null },
    actions: SlotAction[],
    term: string,
  ): Promise<{ action: SlotAction; outcome: string; executionId?: string }[] | null> {
    const runs = actions.filter((a): a is Extract<SlotAction, { kind: 'run' }> => a.kind === 'run');
    const context = await this.executions.prepareHandOver(workflow.id, runs.length > 0);
    const filters = new Map<SlotAction, TenantFilter>();
    if (workflow.perTenantTimezone) {
      for (const run of runs) filters.set(run, await this.tenantFilter(workflow, run.units));
    }
    const result = await this.workflows.claimSlot(
      { workflowId: workflow.id, ...claim, term },
      async (tx) => {
        this.settings.afterClaim?.();
        const within: HandOverWithin = { tx, context, now: this.clock.now() };
        const handed: { action: SlotAction; outcome: string; executionId?: string }[] = [];
        for (const action of actions) {
          if (action.kind === 'skip') {
            await this.executions.recordSkippedSlot(
              {
                workflowId: workflow.id,
                scheduledFor: action.scheduledFor,
                reason: action.reason,
                leaderTerm: term,
              },
              within,
            );
            handed.push({ action, outcome: 'skipped' });
          } else {
            const tenantFilter = filters.get(action);
            const started = await this.executions.startRun(
              {
                workflowId: workflow.id,
                scheduledFor: action.scheduledFor,
                executionType: action.executionType,
                leaderTerm: term,
                ...(tenantFilter ? { tenantFilter } : {}),
              },
              within,
            );
            handed.push({ action, outcome: started.outcome, executionId: started.executionId });
          }
        }
        return handed;
      },
    );
    return result.claimed ? result.value : null;
  }

  /** After the commit: one line per skip record or run. */
  private logHandOver(
    workflow: ScheduledWorkflow,
    action: SlotAction,
    outcome: string,
    executionId?: string,
  ): void {
    if (action.kind === 'skip') {
      this.logger.log({
        msg: 'slot skipped',
        workflowId: workflow.id,
        workflow: workflow.workflowName,
        scheduledFor: action.scheduledFor.toISOString(),
        reason: action.reason,
      });
      return;
    }
    const latenessMs = this.clock.now().getTime() - action.scheduledFor.getTime();
    const log = latenessMs > ON_TIME_TOLERANCE_MS ? this.logger.warn : this.logger.log;
    log.call(this.logger, {
      msg: outcome === 'started' ? 'slot started' : 'slot already had a run',
      workflowId: workflow.id,
      workflow: workflow.workflowName,
      scheduledFor: action.scheduledFor.toISOString(),
      executionType: action.executionType,
      executionId,
      latenessMs,
      // tenants whose own region's holiday or weekend skips this slot (per-tenant mode)
      ...(action.excluded
        ? {
            excluded: action.excluded.map(
              (e) =>
                `${e.unit.timezone} ${e.unit.calendar.country}-${e.unit.calendar.region ?? ''}: ${e.reason}`,
            ),
          }
        : {}),
    });
  }

  /** A new term (or none): its start is the evidence decideOverlap compares runs with. */
  private forgetLeadership(): void {
    this.currentTerm = null;
    this.leaderSince = null;
    this.interruptedRuns.clear();
    this.outageWaits.clear();
    this.clearTimer();
  }

  private async calculatorFor(workflow: ScheduledWorkflow): Promise<SlotCalculator | null> {
    const units = await this.unitsFor(workflow);
    const key = `${workflow.version}|${workflow.cronExpression}|${workflow.timezone}|${JSON.stringify(workflow.calendar)}|${workflow.holidayPolicy}|${workflow.weekendPolicy}|${workflow.catchUpWindowSeconds}|${workflow.overlapPolicy}|${units.map(unitKey).join(',')}`;
    const cached = this.calculators.get(workflow.id);
    if (cached?.key === key) return cached.calculator;
    let calculator: SlotCalculator | null = null;
    try {
      calculator = new SlotCalculator(
        { ...workflow, cronExpression: workflow.cronExpression ?? '' },
        units,
        { allowSeconds: this.settings.allowSecondsCron },
      );
    } catch (err) {
      if (!(err instanceof CronTimeError)) throw err;
      // validated at save time, so only a row written around the API gets here; once per version
      this.logger.error({
        msg: 'workflow not scheduled: its schedule is unusable',
        workflowId: workflow.id,
        workflow: workflow.workflowName,
        version: workflow.version,
        error: err.message,
      });
    }
    this.calculators.set(workflow.id, { key, calculator });
    return calculator;
  }

  private ownUnit(workflow: ScheduledWorkflow): ScheduleUnit {
    return { timezone: workflow.timezone, calendar: workflow.calendar };
  }

  private async unitsFor(workflow: ScheduledWorkflow): Promise<ScheduleUnit[]> {
    if (!workflow.perTenantTimezone) return [this.ownUnit(workflow)];
    return unitsOfTenants(await this.activeTenants(false), this.ownUnit(workflow));
  }

  private async tenantFilter(workflow: ScheduledWorkflow, units: ScheduleUnit[]) {
    return tenantFilterFor(units, await this.activeTenants(true), this.ownUnit(workflow));
  }

  /** The active tenants; a fresh list when asked (at fire time), a stale one if the service is down. */
  private async activeTenants(fresh: boolean): Promise<Tenant[]> {
    const nowMs = this.clock.now().getTime();
    if (!fresh && this.tenantCache && nowMs - this.tenantCache.atMs < this.settings.tenantCacheMs) {
      return this.tenantCache.tenants;
    }
    try {
      const tenants = await this.tenants.listActiveTenants();
      this.tenantCache = { atMs: nowMs, tenants };
      return tenants;
    } catch (err) {
      if (!this.tenantCache) throw err;
      this.logger.warn({
        msg: 'tenant service unavailable; using the last tenant list',
        ageMs: nowMs - this.tenantCache.atMs,
        error: (err as Error).message,
      });
      return this.tenantCache.tenants;
    }
  }

  /** Wakes a pass at the nearest slot when it comes before the next periodic re-check. */
  private armTimer(wakeAtMs: number | null): void {
    this.clearTimer();
    if (wakeAtMs === null) return;
    const delay = wakeAtMs - this.clock.now().getTime();
    if (delay > this.settings.recheckMs) return;
    this.job.wakeIn(delay);
  }

  private clearTimer(): void {
    this.job.cancelWake();
  }
}
