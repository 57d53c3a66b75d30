import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { OperationRegistry } from 'src/clients/operation-registry';
import { Clock } from 'src/common/time/clock';
import type { StepDefinition, WorkflowEntity } from 'src/workflows/workflow.entity';
import type { FinalState, LogRow, StepRow } from '../executions.repository';
import type { ExecutionEntity } from '../execution.entity';
import { nextAttemptDelayMs, permanentFailure, shouldRetry } from './retry-policy';
import { StateWriter } from './state-writer';
import { businessDate, stepIdempotencyKey } from './step-key';

/** Why a run's signal was aborted; only `deadline` is an outcome the runner records. */
export type AbortReason = 'deadline' | 'shutdown' | 'lease-lost';

type StepState = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';

/** One step attempt's outcome, after it is durable (for metrics and cost tracking). */
export interface FinishedStep {
  executionId: string;
  /** the run (parent execution) */
  runId: string;
  tenantId: string;
  workflowName: string;
  stepName: string;
  operation: string;
  status: 'completed' | 'failed';
  durationMs: number;
  /** downstream HTTP attempts the call made when the client says so (failures), else 1 */
  calls: number;
}

export interface TenantRun {
  execution: ExecutionEntity;
  workflow: WorkflowEntity;
  /** results of steps completed by earlier attempts: they are not called again */
  completed: Map<string, unknown>;
  signal: AbortSignal;
  owner: string;
  stepConcurrency: number;
  /**
   * Called once no more calls will be made (every step finished, failed, was skipped or
   * cancelled), before the wait for the step rows to be durable and the final state.
   */
  callsDone?: () => void;
}

/** The random source of the tenant retries' jitter; a test provides a seeded one. */
export const TENANT_RUNNER_RANDOM = Symbol('TENANT_RUNNER_RANDOM');

const MAX_ERROR_LENGTH = 2000;

/**
 * Runs one tenant execution's steps as a DAG: a step starts when everything it depends
 * on has completed (or failed with continue_on_error), and independent steps run in
 * parallel up to the per-tenant limit.
 *
 * Recording is ordered, not blocking: a step's dependents start as soon as its result is
 * in, while its row is being committed; a step's own row is handed to the group commit
 * only once the rows of the steps it depends on are durable, and the final state only
 * once every step row is. So the database never holds a step as completed without the
 * steps it used, and a resume (after a crash) re-calls exactly the steps not recorded,
 * with the same idempotency keys. A tenant does not wait a commit per step on its
 * critical path, only one at its end.
 *
 * Returns the execution's final state (and rows for steps that never ran), or null when
 * it must be handed back (shutdown, lost lease) without an outcome. Throws when a step's
 * row could not be written: the execution then stays leased until its lease expires and
 * is resumed from what is recorded.
 */
@Injectable()
export class TenantRunner {
  private readonly logger = new Logger(TenantRunner.name);
  private readonly stepListeners: ((step: FinishedStep) => void)[] = [];

  constructor(
    private readonly registry: OperationRegistry,
    private readonly writer: StateWriter,
    private readonly clock: Clock,
    @Optional()
    @Inject(TENANT_RUNNER_RANDOM)
    private readonly random: () => number = Math.random,
  ) {}

  /** Called after each step attempt's outcome is written; a throwing listener is ignored. */
  onStepFinished(listener: (step: FinishedStep) => void): void {
    this.stepListeners.push(listener);
  }

  private notifyStep(step: FinishedStep): void {
    for (const listener of this.stepListeners) {
      try {
        listener(step);
      } catch (err) {
        this.logger.warn({ msg: 'step listener failed', error: (err as Error).message });
      }
    }
  }

  async run(run: TenantRun): Promise<{ final: FinalState; stepRows: StepRow[] } | null> {
    const { execution, workflow, signal } = run;
    const steps = workflow.steps;
    const index = new Map(steps.map((s, i) => [s.name, i]));
    const state = new Map<string, StepState>(
      steps.map((s) => [s.name, run.completed.has(s.name) ? 'completed' : 'pending']),
    );
    const results: Record<string, unknown> = Object.fromEntries(run.completed);
    const errors = new Map<string, string>();
    // the thrown values, asked whether a retry can help
    const failures = new Map<string, unknown>();
    const startedAt = execution.startedAt ?? this.clock.now();
    // steps running; the last one to finish with nothing left to start settles `settled`
    let running = 0;
    // a step that threw past its own handling; typed by `as`: it is set in callbacks
    let stepThrew = null as { error: unknown } | null;
    let allSettled: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => (allSettled = resolve));
    // step name -> its row is durable (steps completed by earlier attempts already are)
    const recorded = new Map<string, Promise<unknown>>();

    const blocked = (s: StepDefinition) =>
      (s.depends_on ?? []).some((d) => {
        const st = state.get(d);
        const dep = steps[index.get(d)!];
        return (
          st === 'skipped' || st === 'cancelled' || (st === 'failed' && !dep.continue_on_error)
        );
      });
    const ready = (s: StepDefinition) =>
      (s.depends_on ?? []).every((d) => {
        const st = state.get(d);
        return st === 'completed' || (st === 'failed' && steps[index.get(d)!].continue_on_error);
      });

    const launch = () => {
      let changed = true;
      while (changed) {
        changed = false;
        for (const step of steps) {
          if (state.get(step.name) !== 'pending') continue;
          if (signal.aborted) {
            state.set(step.name, 'cancelled');
            changed = true;
          } else if (blocked(step)) {
            state.set(step.name, 'skipped');
            changed = true;
          } else if (ready(step) && running < run.stepConcurrency) {
            state.set(step.name, 'running');
            running++;
            this.runStep(
              run,
              step,
              index.get(step.name)!,
              results,
              state,
              errors,
              failures,
              recorded,
            ).then(stepDone, (error: unknown) => {
              stepThrew ??= { error };
              stepDone();
            });
          }
        }
      }
    };
    // a callback per step rather than a Promise.race over the steps in flight after each
    // one: that subscribed to every running step again each time
    const stepDone = () => {
      running--;
      launch();
      if (running === 0) allSettled();
    };

    launch();
    if (running > 0) await settled;
    if (stepThrew) throw stepThrew.error;
    run.callsDone?.();
    // every step row durable before the final state (or the hand-back); the first
    // failed write fails the execution's attempt here
    await Promise.all(recorded.values());

    const reason = signal.aborted ? (signal.reason as AbortReason) : null;
    if (reason === 'shutdown' || reason === 'lease-lost') return null;

    const now = this.clock.now();
    const names = steps.map((s) => s.name);
    const count = (st: StepState) => names.filter((n) => state.get(n) === st).length;
    const requiredFailures = steps.filter(
      (s) =>
        (state.get(s.name) === 'failed' && !s.continue_on_error) || state.get(s.name) === 'skipped',
    );
    const skippedRows: StepRow[] = steps
      .filter((s) => state.get(s.name) === 'skipped' || state.get(s.name) === 'cancelled')
      .map((s) => ({
        executionId: execution.id,
        stepName: s.name,
        stepIndex: index.get(s.name)!,
        status: state.get(s.name) as 'skipped' | 'cancelled',
        result: null,
        errorMessage:
          state.get(s.name) === 'skipped'
            ? 'not run: a step it depends on did not complete'
            : 'cancelled',
        startedAt: null,
        completedAt: now,
      }));

    const base = {
      id: execution.id,
      owner: run.owner,
      startedAt,
      stepsCompleted: count('completed'),
      stepsFailed: count('failed'),
      resultSummary: { steps: Object.fromEntries(names.map((n) => [n, state.get(n)])) },
    };
    const firstError = [...errors.entries()][0];
    const errorText = firstError ? `${firstError[0]}: ${firstError[1]}` : null;
    const permanent = permanentFailure(
      requiredFailures.filter((s) => failures.has(s.name)).map((s) => failures.get(s.name)),
    );
    const permanentStep = requiredFailures.find((s) => failures.get(s.name) === permanent);

    let final: FinalState;
    if (reason === 'deadline') {
      final = {
        ...base,
        status: 'cancelled',
        completedAt: now,
        durationSeconds: seconds(startedAt, now),
        errorMessage: `cancelled: exceeded max_execution_time_seconds (${workflow.maxExecutionTimeSeconds} s)`,
        attempt: execution.attempt,
        nextAttemptAt: null,
      };
    } else if (requiredFailures.length === 0) {
      final = {
        ...base,
        status: 'completed',
        completedAt: now,
        durationSeconds: seconds(startedAt, now),
        errorMessage: errorText,
        attempt: execution.attempt,
        nextAttemptAt: null,
      };
    } else if (permanent === undefined && shouldRetry(execution.attempt, workflow.maxRetries)) {
      const delay = nextAttemptDelayMs(execution.attempt, workflow.retryDelaySeconds, this.random);
      final = {
        ...base,
        status: 'pending',
        completedAt: null,
        durationSeconds: null,
        errorMessage: `attempt ${execution.attempt} failed (${errorText ?? 'steps not run'}); retrying in ${Math.round(delay / 1000)} s`,
        attempt: execution.attempt + 1,
        nextAttemptAt: new Date(now.getTime() + delay),
      };
    } else {
      final = {
        ...base,
        status: 'failed',
        completedAt: now,
        durationSeconds: seconds(startedAt, now),
        errorMessage:
          permanent !== undefined && permanentStep
            ? `${permanentStep.name}: ${errors.get(permanentStep.name)} (not retried: a retry cannot succeed; fix the request or the step's params)`
            : (errorText ?? 'steps not run'),
        attempt: execution.attempt,
        nextAttemptAt: null,
      };
    }
    return { final, stepRows: skippedRows };
  }

  private async runStep(
    run: TenantRun,
    step: StepDefinition,
    stepIndex: number,
    results: Record<string, unknown>,
    state: Map<string, StepState>,
    errors: Map<string, string>,
    failures: Map<string, unknown>,
    recorded: Map<string, Promise<unknown>>,
  ): Promise<void> {
    const { execution, workflow } = run;
    // this step's row waits for the rows of the steps it depends on
    const record = (op: { steps: StepRow[]; logs: LogRow[] }): Promise<unknown> => {
      let before: Promise<unknown>[] | null = null;
      for (const d of step.depends_on ?? []) {
        const dep = recorded.get(d);
        if (dep) (before ??= []).push(dep);
      }
      const write = () => this.writer.write(op);
      const done = !before
        ? write()
        : before.length === 1
          ? before[0].then(write)
          : Promise.all(before).then(write);
      // a failure is reported by Promise.all(recorded) in run()
      recorded.set(step.name, done);
      return done;
    };
    const startedAt = this.clock.now();
    const stepRow = (
      status: 'completed' | 'failed',
      result: unknown,
      error: string | null,
      summary: unknown = null,
    ): StepRow => ({
      executionId: execution.id,
      stepName: step.name,
      stepIndex,
      status,
      result,
      summary,
      errorMessage: error,
      startedAt,
      completedAt: this.clock.now(),
    });
    const finished = (
      status: FinishedStep['status'],
      durationMs: number,
      calls: number,
    ): FinishedStep => ({
      executionId: execution.id,
      runId: execution.parentExecutionId ?? execution.id,
      tenantId: execution.tenantId!,
      workflowName: execution.workflowName,
      stepName: step.name,
      operation: step.operation,
      status,
      durationMs,
      calls,
    });
    const log = (level: LogRow['level'], message: string, data: unknown): LogRow => ({
      executionId: execution.id,
      stepName: step.name,
      stepIndex,
      level,
      message,
      data,
      at: this.clock.now(),
    });
    try {
      const zone = execution.tenantTimezone ?? workflow.timezone;
      const result = await this.registry.run(step.operation, {
        tenant: { id: execution.tenantId!, ...(zone ? { timezone: zone } : {}) },
        executionId: execution.id,
        runId: execution.parentExecutionId ?? execution.id,
        stepName: step.name,
        params: step.params ?? {},
        previousResults: { ...results },
        signal: run.signal,
        idempotencyKey: stepIdempotencyKey({
          workflowId: execution.workflowId ?? workflow.id,
          scheduledFor: execution.scheduledFor,
          tenantId: execution.tenantId!,
          stepName: step.name,
        }),
        scheduledFor: execution.scheduledFor,
        businessDate: businessDate(execution.scheduledFor, zone, workflow.timezone),
        timeoutSeconds: step.timeout_seconds,
        retries: step.retries,
      });
      const durationMs = this.clock.now().getTime() - startedAt.getTime();
      // dependents start now; the row follows (see the class comment)
      results[step.name] = result;
      state.set(step.name, 'completed');
      // what the answer says, in the words an operator reads ("Generated 42 forecasts")
      const summary = this.registry.summarize?.(step.operation, result) ?? null;
      void record({
        steps: [stepRow('completed', result, null, summary)],
        logs: [
          log(
            'info',
            summary ? `${step.name} completed: ${summary.text}` : `${step.name} completed`,
            {
              operation: step.operation,
              duration_ms: durationMs,
              attempt: execution.attempt,
              ...(summary ? { summary: summary.figures } : {}),
            },
          ),
        ],
      }).then(
        () => this.notifyStep(finished('completed', durationMs, 1)),
        () => undefined,
      );
    } catch (err) {
      if (run.signal.aborted) {
        state.set(step.name, 'cancelled');
        return;
      }
      const message = describe(err);
      errors.set(step.name, message);
      failures.set(step.name, err);
      state.set(step.name, 'failed');
      const durationMs = this.clock.now().getTime() - startedAt.getTime();
      const attempts = (err as { attempts?: unknown } | null)?.attempts;
      void record({
        steps: [stepRow('failed', null, message)],
        logs: [
          log(step.continue_on_error ? 'warning' : 'error', `${step.name} failed: ${message}`, {
            operation: step.operation,
            attempt: execution.attempt,
            ...errorFields(err),
          }),
        ],
      }).then(
        () =>
          this.notifyStep(
            finished(
              'failed',
              durationMs,
              typeof attempts === 'number' && attempts > 0 ? attempts : 1,
            ),
          ),
        () => undefined,
      );
    }
  }
}

function seconds(from: Date, to: Date): number {
  return Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
}

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

/** What a log line may carry about an upstream failure: never tokens, never whole bodies. */
function errorFields(err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return {};
  const e = err as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ['service', 'operation', 'status', 'retryable', 'code'])
    if (e[k] !== undefined) out[k] = e[k];
  return out;
}
