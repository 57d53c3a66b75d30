import { Injectable, Logger } from '@nestjs/common';
import { Clock } from 'src/common/time/clock';
import { withTimeout } from 'src/common/time/deadline';
import {
  ORCHESTRATOR_EXCHANGE,
  WORKFLOW_COMPLETED,
  WORKFLOW_FAILED,
  WorkflowCompletedEvent,
  WorkflowFailedEvent,
} from 'src/events/event-contracts';
import { OutboxService } from 'src/events/outbox.service';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { ExecutionsRepository } from '../executions.repository';
import type { ExecutionEntity, ExecutionStatus } from '../execution.entity';

export interface ClosedRun {
  parent: ExecutionEntity;
  status: ExecutionStatus;
  summary: Record<string, unknown>;
}

const DEBOUNCE_MS = 20;
/**
 * A check that failed (the database was away) is tried again after this long by itself:
 * the run's last tenant may have been the instance's last work, and nothing else would
 * ask again before a restart, leaving the run open and in the way of the next slot.
 */
const RETRY_AFTER_FAILURE_MS = 5000;
/** The longest a shutdown waits for the work listeners started for closed runs. */
const LISTENER_WORK_SHUTDOWN_MS = 10_000;

/** Hears of each closed run; what it returns, if a promise, is waited for at shutdown. */
export type RunClosedListener = (run: ClosedRun) => unknown;

/**
 * Closes a run when its last tenant is done: the parent's final status and summary,
 * the workflow's last success/failure, and the completed/failed event are written in
 * one transaction (guarantee 5). Requests are coalesced, so 10,000 tenants finishing
 * cost a handful of checks rather than one each. Each check runs after the tenant
 * states it reacts to were committed, so whoever commits the last tenant sees it.
 */
@Injectable()
export class RunCompleter {
  private readonly logger = new Logger(RunCompleter.name);
  private requested = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly listeners: RunClosedListener[] = [];
  /** what listeners are still doing for runs already closed (alert checks) */
  private readonly listenerWork = new Set<Promise<unknown>>();
  /** a check of every open run failed (the one at start, after a crash): try it again */
  private allRequested = false;

  constructor(
    private readonly repository: ExecutionsRepository,
    private readonly workflows: WorkflowsService,
    private readonly outbox: OutboxService,
    private readonly clock: Clock,
  ) {}

  onRunClosed(listener: RunClosedListener): void {
    this.listeners.push(listener);
  }

  /**
   * Before the database closes (the dispatcher's stop, after its last check): waits for the
   * work listeners started, at most LISTENER_WORK_SHUTDOWN_MS. Without it, a run closed in
   * the last moments had its alert check cut off ("Connection terminated").
   */
  async listenersSettled(ms = LISTENER_WORK_SHUTDOWN_MS): Promise<void> {
    if (this.listenerWork.size === 0) return;
    // tracked work never rejects (track logs its failure)
    await withTimeout(
      Promise.all([...this.listenerWork]),
      ms,
      'work of run-closed listeners',
    ).catch((err: Error) => this.logger.warn({ msg: 'shutting down anyway', error: err.message }));
  }

  /** Asks for a check of these parents soon. */
  request(parentIds: Iterable<string>): void {
    for (const id of parentIds) if (id) this.requested.add(id);
    this.schedule(DEBOUNCE_MS);
  }

  private schedule(ms: number, isRetry = false): void {
    if ((this.requested.size === 0 && !this.allRequested) || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush(this.allRequested);
    }, ms);
    // a retry must not keep a stopping process alive (the shutdown's last check may fail)
    if (isRetry) this.timer.unref();
  }

  /** Checks the requested parents (or, with null, every open parent) and closes the finished ones. */
  async flush(all = false): Promise<ClosedRun[]> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.running) await this.running;
    const ids = all ? null : [...this.requested];
    if (all) this.allRequested = false;
    else this.requested = new Set();
    if (ids && ids.length === 0) return [];
    let closed: ClosedRun[] = [];
    let failed = false;
    this.running = (async () => {
      try {
        closed = await this.close(ids);
      } catch (err) {
        this.logger.error({ msg: 'closing runs failed', error: (err as Error).message });
        if (ids) for (const id of ids) this.requested.add(id);
        else this.allRequested = true;
        failed = true;
      }
    })();
    await this.running;
    this.running = null;
    // a failed check, or a failed check of all that this one (of some runs) did not redo
    if (failed || this.allRequested) this.schedule(RETRY_AFTER_FAILURE_MS, true);
    for (const run of closed) this.notify(run);
    return closed;
  }

  /**
   * A throwing listener is logged and skipped: the run is closed and committed whatever a
   * listener does, the others must still hear of it, and flush runs from a timer where a
   * rejection would escape as an unhandled one.
   */
  private notify(run: ClosedRun): void {
    for (const listener of this.listeners) {
      try {
        const work = listener(run);
        if (work instanceof Promise) this.track(work, run);
      } catch (err) {
        this.logger.warn({
          msg: 'run listener failed',
          executionId: run.parent.id,
          error: (err as Error).message,
        });
      }
    }
  }

  private track(work: Promise<unknown>, run: ClosedRun): void {
    const settled: Promise<unknown> = work
      .catch((err: Error) =>
        this.logger.warn({
          msg: 'run listener failed',
          executionId: run.parent.id,
          error: err?.message ?? String(err),
        }),
      )
      .finally(() => this.listenerWork.delete(settled));
    this.listenerWork.add(settled);
  }

  private close(parentIds: string[] | null): Promise<ClosedRun[]> {
    return this.repository.transaction(async (tx) => {
      const parents = await this.repository.lockFinishedParents(tx, parentIds);
      const closed: ClosedRun[] = [];
      for (const parent of parents) {
        const now = this.clock.now();
        const t = await this.repository.childTotals(tx, parent.id);
        const unsuccessful = t.failed + t.cancelled;
        const status = runStatus(t);
        const durationSeconds = Math.max(
          0,
          Math.round((now.getTime() - parent.createdAt.getTime()) / 1000),
        );
        const summary = {
          ...(parent.resultSummary ?? {}),
          tenants_processed: t.tenants,
          tenants_succeeded: t.succeeded,
          tenants_failed: t.failed,
          tenants_cancelled: t.cancelled,
          steps_completed: t.steps_completed,
          steps_failed: t.steps_failed,
          retries: t.retries,
          duration_seconds: durationSeconds,
        };
        const errorMessage =
          unsuccessful > 0
            ? `${unsuccessful} of ${t.tenants} tenants did not complete; last error: ${t.last_error ?? 'unknown'}`
            : null;
        const done = await this.repository.closeParent(tx, parent.id, {
          status,
          completedAt: now,
          durationSeconds,
          stepsCompleted: t.steps_completed,
          stepsFailed: t.steps_failed,
          errorMessage,
          resultSummary: summary,
        });
        if (!done) continue;
        if (parent.workflowId)
          await this.workflows.recordRunOutcome(tx, parent.workflowId, status, now);
        const timestamp = now.toISOString();
        const payload:
          Omit<WorkflowCompletedEvent, 'event_id'> | Omit<WorkflowFailedEvent, 'event_id'> =
          status === 'completed'
            ? {
                event_type: 'orchestrator_workflow_completed',
                workflow_name: parent.workflowName,
                execution_id: parent.id,
                tenants_processed: t.tenants,
                steps_completed: t.steps_completed,
                steps_failed: t.steps_failed,
                tenants_failed: unsuccessful,
                tenants_succeeded: t.succeeded,
                duration_seconds: durationSeconds,
                timestamp,
              }
            : {
                event_type: 'orchestrator_workflow_failed',
                workflow_name: parent.workflowName,
                execution_id: parent.id,
                error_message: errorMessage!,
                tenants_affected: unsuccessful,
                timestamp,
              };
        await this.outbox.enqueue(tx, [
          {
            exchange: ORCHESTRATOR_EXCHANGE,
            routingKey: status === 'completed' ? WORKFLOW_COMPLETED : WORKFLOW_FAILED,
            payload: payload as unknown as Record<string, unknown>,
          },
        ]);
        closed.push({ parent, status, summary });
        const fields = {
          msg: 'run closed',
          status,
          executionId: parent.id,
          workflowName: parent.workflowName,
          tenants: t.tenants,
          tenantsSucceeded: t.succeeded,
          durationSeconds,
        };
        if (unsuccessful > 0) this.logger.warn({ ...fields, error: errorMessage });
        else this.logger.log(fields);
      }
      return closed;
    });
  }
}

/**
 * The seed's run semantics: a run whose tenants partly failed is `completed` (its
 * summary and event count the failures); it is `failed` only when it had tenants and
 * none of them completed. One bakery's bad day must not mark the platform's day failed,
 * nor hide that the other 9,999 were served.
 */
export function runStatus(t: { tenants: number; succeeded: number }): 'completed' | 'failed' {
  return t.tenants > 0 && t.succeeded === 0 ? 'failed' : 'completed';
}
