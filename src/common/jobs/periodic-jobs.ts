import { Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { LeaderGate } from './leader-gate';

/** A job defined wrongly at boot, e.g. `LEADER_GATE_MISSING`: a leader-only job in a process without a LeaderGate. */
export class PeriodicJobError extends Error {
  constructor(
    readonly code: 'LEADER_GATE_MISSING',
    message: string,
  ) {
    super(message);
    this.name = 'PeriodicJobError';
  }
}

/** When a job runs: a cron expression (in a zone) or a fixed interval. */
export type JobSchedule = { cron: string; timeZone?: string } | { everyMs: number };

/**
 * What a tick that arrives while the previous run is still going does: `skip` drops it;
 * `run-again` makes the current run start once more when it ends (several such ticks still
 * give one more run), for a pass that must see what changed while it ran.
 */
export type OverlapPolicy = 'skip' | 'run-again';

interface CommonOptions {
  /** default `skip` */
  overlap?: OverlapPolicy;
}

/** Runs only while this instance leads; the run gets the fencing term its writes carry. */
export interface LeaderOnlyJob<T> extends CommonOptions {
  leaderOnly: true;
  run: (term: string) => Promise<T>;
}

/** Runs on every instance (housekeeping of this process). */
export interface EveryInstanceJob<T> extends CommonOptions {
  leaderOnly: false;
  run: () => Promise<T>;
}

export type JobDefinition<T> = LeaderOnlyJob<T> | EveryInstanceJob<T>;

/**
 * One named periodic job. Created by `PeriodicJobs.define` / `register`; `start()` puts it
 * on its schedule (and in the SchedulerRegistry under its name), `runNow()` runs it once by
 * the same path a tick takes (gate, no overlap, errors logged), which is what tests call.
 */
export class PeriodicJob<T> {
  private readonly logger = new Logger(PeriodicJob.name);
  private cron: CronJob | null = null;
  private interval: NodeJS.Timeout | null = null;
  private wake: NodeJS.Timeout | null = null;
  private current: Promise<T | undefined> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly schedule: JobSchedule,
    private readonly definition: JobDefinition<T>,
    private readonly registry: SchedulerRegistry,
    private readonly gate: LeaderGate | undefined,
  ) {}

  /** The timeout name `wakeIn` registers. */
  get wakeName(): string {
    return `${this.name}.wake`;
  }

  get isStarted(): boolean {
    return this.cron !== null || this.interval !== null;
  }

  /** Puts the job on its schedule; a cron expression that does not parse throws here (at boot). */
  start(): void {
    if (this.isStarted) return;
    this.stopped = false;
    if ('cron' in this.schedule) {
      this.cron = CronJob.from({
        cronTime: this.schedule.cron,
        timeZone: this.schedule.timeZone,
        name: this.name,
        onTick: () => void this.runNow(),
        start: true,
        unrefTimeout: true,
      });
      this.registry.addCronJob(this.name, this.cron);
    } else {
      this.interval = setInterval(() => void this.runNow(), this.schedule.everyMs);
      this.interval.unref();
      this.registry.addInterval(this.name, this.interval);
    }
  }

  /** Off its schedule and out of the registry; a run in progress finishes (see `idle()`). */
  stop(): void {
    this.stopped = true;
    this.again = false;
    this.cancelWake();
    if (this.cron) {
      void this.cron.stop();
      if (this.registry.doesExist('cron', this.name)) this.registry.deleteCronJob(this.name);
      this.cron = null;
    }
    if (this.interval) {
      clearInterval(this.interval);
      if (this.registry.doesExist('interval', this.name)) this.registry.deleteInterval(this.name);
      this.interval = null;
    }
  }

  /** The next scheduled run of a started cron job; null for an interval or a stopped job. */
  nextRunAt(): Date | null {
    return this.cron ? this.cron.nextDate().toJSDate() : null;
  }

  /**
   * One extra run in `delayMs` (a one-shot timeout, registered as `<name>.wake`), replacing
   * one still pending; for a job that knows when it is next needed before its next tick.
   * Ignored while the job is stopped.
   */
  wakeIn(delayMs: number): void {
    this.cancelWake();
    if (this.stopped || !this.isStarted) return;
    this.wake = setTimeout(
      () => {
        this.cancelWake();
        void this.runNow();
      },
      Math.max(0, delayMs),
    );
    this.wake.unref();
    this.registry.addTimeout(this.wakeName, this.wake);
  }

  cancelWake(): void {
    if (!this.wake) return;
    clearTimeout(this.wake);
    if (this.registry.doesExist('timeout', this.wakeName))
      this.registry.deleteTimeout(this.wakeName);
    this.wake = null;
  }

  /**
   * Runs the job once now. Resolves to what the run returned, or undefined when it did not
   * run (a follower, an overlapping tick, a failure: logged). Never rejects.
   */
  runNow(): Promise<T | undefined> {
    if (this.current) {
      if (this.definition.overlap === 'run-again') {
        this.again = true;
      } else {
        this.logger.warn({
          msg: 'job run skipped: the previous run is still going',
          job: this.name,
        });
      }
      return Promise.resolve(undefined);
    }
    const run = this.runRepeatedly();
    this.current = run;
    void run.finally(() => {
      if (this.current === run) this.current = null;
    });
    return run;
  }

  /** Resolves once no run is in progress. */
  async idle(): Promise<void> {
    while (this.current) await this.current;
  }

  private async runRepeatedly(): Promise<T | undefined> {
    let value: T | undefined;
    do {
      this.again = false;
      value = await this.runOnce();
    } while (this.again && !this.stopped);
    return value;
  }

  private async runOnce(): Promise<T | undefined> {
    try {
      const definition = this.definition;
      if (!definition.leaderOnly) return await definition.run();
      const outcome = await this.gate!.runIfLeader((term) => definition.run(term));
      if (outcome.ran) return outcome.value;
      this.logger.debug({ msg: 'job run left to the leader', job: this.name });
      return undefined;
    } catch (err) {
      this.logger.error({
        msg: 'job run failed; it runs again at its next tick',
        job: this.name,
        error: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      });
      return undefined;
    }
  }
}

/**
 * The one way this service runs periodic work (docs/architecture.md "Periodic jobs"): a
 * named job on a cron expression or an interval, kept in @nestjs/schedule's
 * SchedulerRegistry, gated by the LeaderGate here (and nowhere else) when `leaderOnly`,
 * never overlapping itself in one process, its errors logged and never thrown into a
 * timer, and stopped and removed when the module is destroyed.
 */
@Injectable()
export class PeriodicJobs implements OnModuleDestroy {
  private readonly jobs = new Map<string, PeriodicJob<unknown>>();

  constructor(
    private readonly registry: SchedulerRegistry,
    @Optional() private readonly gate?: LeaderGate,
  ) {}

  /**
   * A job that is not started yet (`start()` puts it on its schedule). Throws when the name
   * is taken, or a leader-only job is defined in a process without a LeaderGate.
   */
  define<T>(name: string, schedule: JobSchedule, definition: JobDefinition<T>): PeriodicJob<T> {
    if (this.jobs.has(name)) throw new Error(`periodic job "${name}" is defined twice`);
    if (definition.leaderOnly && !this.gate) {
      throw new PeriodicJobError(
        'LEADER_GATE_MISSING',
        `periodic job "${name}" is leader-only but this process has no LeaderGate: import LeaderModule, or define it with leaderOnly: false`,
      );
    }
    const job = new PeriodicJob(name, schedule, definition, this.registry, this.gate);
    this.jobs.set(name, job as PeriodicJob<unknown>);
    return job;
  }

  /** `define` and `start` in one. */
  register<T>(name: string, schedule: JobSchedule, definition: JobDefinition<T>): PeriodicJob<T> {
    const job = this.define(name, schedule, definition);
    job.start();
    return job;
  }

  /** Stops and forgets a job (its owner is going away). */
  remove(name: string): void {
    this.jobs.get(name)?.stop();
    this.jobs.delete(name);
  }

  get(name: string): PeriodicJob<unknown> | undefined {
    return this.jobs.get(name);
  }

  onModuleDestroy(): void {
    for (const name of [...this.jobs.keys()]) this.remove(name);
  }
}
