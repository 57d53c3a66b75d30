import { BeforeApplicationShutdown, Injectable, Logger, Optional } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config.service';
import { ExecutionsRepository, FinalState, LogRow, StepRow } from '../executions.repository';

interface Pending {
  steps: StepRow[];
  logs: LogRow[];
  finals: FinalState[];
  resolve: (applied: Set<string>) => void;
  reject: (err: Error) => void;
}

const MAX_BATCH_OPS = 500;
/** PostgreSQL's SQLSTATE for a transaction it chose to fail to break a deadlock */
const DEADLOCK_DETECTED = '40P01';
const DEADLOCK_ATTEMPTS = 3;
/**
 * Commits in flight at once. One: runners do not wait on a step's commit (TenantRunner),
 * so its latency is off their critical path, and the batch that gathers while one commits
 * is larger (bench/fanout: 3,650 commits instead of 6,400 at 10,000 tenants, a quarter
 * less PostgreSQL CPU). It also keeps the commits in the order they were handed over.
 */
const MAX_CONCURRENT_COMMITS = 1;

/**
 * Group commit for execution state (docs/performance.md): runners hand their step
 * results, logs and final states here, and each caller's promise resolves once its rows
 * are durable. Whatever has queued is written as ONE statement (one round trip, one
 * commit); while it commits, the next batch gathers.
 *
 * Commits start at most every `STATE_COMMIT_INTERVAL_MS` (default 20): a write that finds
 * the last commit older than that goes at once, one that finds it younger waits for the
 * interval with whatever else arrives (or until MAX_BATCH_OPS writes are waiting). Each
 * commit wakes PostgreSQL and the writing thread loses its core on a busy machine, so at
 * 10,000 tenants 4,200 commits of 14 steps cost more than 585 of 105 (bench/fanout, with
 * the freed slot below: PostgreSQL CPU -24 %, the service's -6 %). No runner waits on a
 * step's commit, and a tenant's slot is free before its final commit (ExecutionDispatcher),
 * so the interval is off the calls' path: it delays when rows are durable, by at most the
 * interval.
 */
@Injectable()
export class StateWriter implements BeforeApplicationShutdown {
  private readonly logger = new Logger(StateWriter.name);
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idle: (() => void)[] = [];
  /** the interval between commit starts; 0 once shutting down (flush what is left) */
  private intervalMs: number;
  /** no commit starts before this (performance.now()) */
  private nextCommitAt = 0;
  private intervalTimer: NodeJS.Timeout | null = null;
  /** rows written, for the benchmark and metrics */
  readonly stats = { commits: 0, steps: 0, logs: 0, finals: 0, commitMs: 0, maxCommitMs: 0 };

  constructor(
    private readonly repository: ExecutionsRepository,
    @Optional() config?: AppConfig,
  ) {
    this.intervalMs = config?.get('STATE_COMMIT_INTERVAL_MS') ?? 0;
  }

  /** Resolves with the ids of `finals` that were applied (this instance still held the lease). */
  write(op: { steps?: StepRow[]; logs?: LogRow[]; finals?: FinalState[] }): Promise<Set<string>> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        steps: op.steps ?? [],
        logs: op.logs ?? [],
        finals: op.finals ?? [],
        resolve,
        reject,
      });
      if (!this.scheduled) {
        this.scheduled = true;
        // let the current tick's writers join the batch
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < MAX_CONCURRENT_COMMITS) {
      const now = performance.now();
      if (now < this.nextCommitAt && this.queue.length < MAX_BATCH_OPS) {
        this.intervalTimer ??= setTimeout(() => {
          this.intervalTimer = null;
          this.pump();
        }, this.nextCommitAt - now);
        return;
      }
      this.nextCommitAt = now + this.intervalMs;
      const batch = this.queue.splice(0, MAX_BATCH_OPS);
      this.inFlight++;
      void this.commit(batch).finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.pump();
        else if (this.inFlight === 0) for (const done of this.idle.splice(0)) done();
      });
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    const steps = batch.flatMap((p) => p.steps);
    const logs = batch.flatMap((p) => p.logs);
    const finals = batch.flatMap((p) => p.finals);
    const started = performance.now();
    try {
      const applied = await this.writeRetryingDeadlocks(steps, logs, finals, batch.length);
      this.stats.commits++;
      const ms = performance.now() - started;
      this.stats.commitMs += ms;
      if (ms > this.stats.maxCommitMs) this.stats.maxCommitMs = ms;
      this.stats.steps += steps.length;
      this.stats.logs += logs.length;
      this.stats.finals += applied.size;
      for (const p of batch) p.resolve(applied);
    } catch (err) {
      this.logger.error({
        msg: 'state commit failed',
        writes: batch.length,
        error: (err as Error).message,
      });
      for (const p of batch) p.reject(err as Error);
    }
  }

  /**
   * Final states, lease renewals and the hand-back lock their rows in id order
   * (executions.repository.ts), so they do not deadlock with each other; before that order
   * bench/fanout saw one deadlock at 50,000 tenants (53 tenants waited out their lease and
   * re-called their unrecorded steps). The retry stays for any other deadlock PostgreSQL
   * breaks by failing this statement: it is atomic, so writing it again is exact.
   */
  private async writeRetryingDeadlocks(
    steps: StepRow[],
    logs: LogRow[],
    finals: FinalState[],
    writes: number,
  ): Promise<Set<string>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.repository.writeState(steps, logs, finals);
      } catch (err) {
        if ((err as { code?: string }).code !== DEADLOCK_DETECTED || attempt >= DEADLOCK_ATTEMPTS)
          throw err;
        this.logger.warn({ msg: 'state commit deadlocked; writing it again', attempt, writes });
      }
    }
  }

  /** Before the database closes: everything handed over is written. */
  async beforeApplicationShutdown(): Promise<void> {
    this.intervalMs = 0;
    this.nextCommitAt = 0;
    if (this.intervalTimer) {
      clearTimeout(this.intervalTimer);
      this.intervalTimer = null;
      this.pump();
    }
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}
