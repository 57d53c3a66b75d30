import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge, register } from 'prom-client';
import { DataSource } from 'typeorm';
import { PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { getOrCreateMetric } from 'src/common/metrics/get-or-create';
import { Clock, SystemClock } from 'src/common/time/clock';
import { withTimeout } from 'src/common/time/deadline';
import { AppConfig } from 'src/config/app-config.service';
import { ClockSkewReading, readClockSkew } from './clock-skew';

/** This instance's clock minus the database's, in seconds (positive: this instance runs ahead). */
export const CLOCK_SKEW_METRIC = 'orchestrator_clock_skew_seconds';

/** How often the offset is measured; the scheduler also asks before a pass (measureIfOlder). */
const MEASURE_EVERY_MS = 10_000;
export const CLOCK_MEASURE_JOB = 'database-clock.measure';
/** A measurement never waits longer than this for the database. */
const MEASURE_TIMEOUT_MS = 2_000;

/** What listeners hear when the skew crosses the limit, either way. */
export interface ClockSkewChange extends ClockSkewReading {
  maxSkewMs: number;
}

/**
 * The database is the clock authority: a slot is due when PostgreSQL says so, and what the
 * scheduler and the engine stamp on executions comes from it. This clock is the instance's
 * own clock corrected by the offset last measured against the database (`SELECT
 * clock_timestamp()`, bounded), so reading it costs no round trip. An offset beyond
 * CLOCK_SKEW_MAX_SECONDS is logged (warn), exposed as orchestrator_clock_skew_seconds and
 * reported to the skew listeners (the alerts service opens a `clock_skew` alert); back
 * within the limit it is reported again (the alert clears).
 *
 * Until the first measurement the offset is 0; the slot claim's `next_execution_at <= now()`
 * still refuses an early fire, so correctness never depends on this estimate. A clock a
 * test injected (anything but the SystemClock) is taken as is: the test is its authority.
 */
@Injectable()
export class DatabaseClock extends Clock implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseClock.name);
  private readonly maxSkewMs: number;
  private readonly corrects: boolean;
  private readonly gauge: Gauge<string>;
  private offsetMs = 0;
  private measuredAtMs: number | null = null;
  private skewed = false;
  private lastWarnedAtMs = 0;
  private inFlight: Promise<void> | null = null;
  private readonly listeners: ((change: ClockSkewChange) => void)[] = [];
  private lastChange: ClockSkewChange | null = null;

  constructor(
    private readonly local: Clock,
    @InjectDataSource() private readonly dataSource: DataSource,
    config: AppConfig,
    private readonly jobs: PeriodicJobs,
  ) {
    super();
    this.maxSkewMs = config.get('CLOCK_SKEW_MAX_SECONDS') * 1000;
    this.corrects = local instanceof SystemClock;
    this.gauge = getOrCreateMetric(
      register,
      CLOCK_SKEW_METRIC,
      () =>
        new Gauge({
          name: CLOCK_SKEW_METRIC,
          help: "This instance's clock minus the database clock, in seconds (last measurement)",
        }),
    );
  }

  /** The database's time as this instance best knows it. */
  now(): Date {
    return new Date(this.local.now().getTime() - this.offsetMs);
  }

  /** This instance's clock minus the database's, as last measured (0 before any). */
  offset(): number {
    return this.offsetMs;
  }

  /**
   * Called on every crossing of the limit (skewed, then back in step); at once when the
   * clock is already known to be skewed, so a listener registered late misses nothing.
   */
  onSkewChange(listener: (change: ClockSkewChange) => void): void {
    this.listeners.push(listener);
    if (this.lastChange?.skewed) this.notify([listener], this.lastChange);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.corrects) return;
    await this.measure();
    // on every instance: each measures its own clock
    this.jobs.register(
      CLOCK_MEASURE_JOB,
      { everyMs: MEASURE_EVERY_MS },
      { leaderOnly: false, run: () => this.measure() },
    );
  }

  onApplicationShutdown(): void {
    this.jobs.remove(CLOCK_MEASURE_JOB);
  }

  /** Measures unless the last measurement is younger than maxAgeMs. Never rejects. */
  async measureIfOlder(maxAgeMs: number): Promise<void> {
    if (!this.corrects) return;
    const nowMs = this.local.now().getTime();
    if (this.measuredAtMs !== null && nowMs - this.measuredAtMs < maxAgeMs) return;
    await this.measure();
  }

  /** One bounded round trip; a failure keeps the last offset (health reports the database). */
  measure(): Promise<void> {
    this.inFlight ??= this.sample().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async sample(): Promise<void> {
    try {
      const sentAtMs = this.local.now().getTime();
      // clock_timestamp(), not now(): now() is the start of the transaction
      const rows: { now: Date | string }[] = await withTimeout(
        this.dataSource.query('SELECT clock_timestamp() AS now'),
        MEASURE_TIMEOUT_MS,
        'database clock reading',
      );
      const receivedAtMs = this.local.now().getTime();
      const reading = readClockSkew(
        { sentAtMs, databaseMs: new Date(rows[0].now).getTime(), receivedAtMs },
        this.maxSkewMs,
      );
      if (!reading) return;
      this.offsetMs = reading.offsetMs;
      this.measuredAtMs = receivedAtMs;
      this.gauge.set(reading.offsetMs / 1000);
      // warned when it starts and then once a minute, not on every measurement
      if (reading.skewed && (!this.skewed || receivedAtMs - this.lastWarnedAtMs >= 60_000)) {
        this.lastWarnedAtMs = receivedAtMs;
        this.logger.warn({
          msg: 'instance clock differs from the database clock; slots fire and executions are stamped by the database clock',
          offsetMs: reading.offsetMs,
          uncertaintyMs: reading.uncertaintyMs,
          maxSkewMs: this.maxSkewMs,
        });
      }
      if (reading.skewed !== this.skewed) {
        this.skewed = reading.skewed;
        if (!reading.skewed)
          this.logger.log({
            msg: 'instance clock back in step with the database clock',
            offsetMs: reading.offsetMs,
          });
        this.lastChange = { ...reading, maxSkewMs: this.maxSkewMs };
        this.notify(this.listeners, this.lastChange);
      }
    } catch (err) {
      this.logger.debug({ msg: 'clock offset not measured', error: (err as Error).message });
    }
  }

  private notify(listeners: ((change: ClockSkewChange) => void)[], change: ClockSkewChange) {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (err) {
        this.logger.error({ msg: 'clock skew listener failed', error: (err as Error).message });
      }
    }
  }
}
