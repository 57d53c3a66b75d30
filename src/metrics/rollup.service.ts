import { Injectable, Logger } from '@nestjs/common';
import { Clock } from 'src/common/time/clock';
import { AppConfig } from 'src/config/app-config.service';
import {
  addDays,
  datesBetween,
  dayBounds,
  daysBetween,
  isCalendarDate,
  localDateOf,
} from './local-day';
import { MetricsError } from './metrics.errors';
import { MetricsRepository, Prices, pricesOf, RollupRow } from './metrics.repository';

/** The most days one call recomputes (a year): the CLI can loop for longer backfills. */
export const MAX_ROLLUP_DAYS = 366;

/**
 * The daily rollup into orchestrator_metrics: per local date (DEFAULT_TIMEZONE) and
 * workflow, the runs started that day and their outcome, durations, retries, tenants,
 * skipped slots, deadline misses and cost. Idempotent: recomputing a day replaces its rows
 * (INSERT ... ON CONFLICT (metric_date, workflow_name) DO UPDATE, and rows of workflows
 * that no longer have any are deleted), so the daily job, a re-run and a CLI backfill all
 * leave the same figures.
 */
@Injectable()
export class MetricsRollupService {
  private readonly logger = new Logger(MetricsRollupService.name);
  private readonly prices: Prices;
  readonly zone: string;

  constructor(
    private readonly repository: MetricsRepository,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.zone = config.get('DEFAULT_TIMEZONE');
    this.prices = pricesOf(config);
  }

  /** Recomputes every date from `from` to `to` (local dates, both included). */
  async rollup(from: string, to: string): Promise<RollupRow[]> {
    checkRange(from, to, MAX_ROLLUP_DAYS);
    const days = datesBetween(from, to).map((date) => ({ date, ...dayBounds(date, this.zone) }));
    const started = Date.now();
    const rows = await this.repository.rollupDays(days, this.prices, this.clock.now());
    this.logger.log({
      msg: 'rollup written',
      from,
      to,
      days: days.length,
      timezone: this.zone,
      rows: rows.length,
      durationMs: Date.now() - started,
    });
    return rows;
  }

  /** Yesterday (now final) and today so far, in DEFAULT_TIMEZONE: what the daily job does. */
  rollupRecent(): Promise<RollupRow[]> {
    const today = localDateOf(this.clock.now(), this.zone);
    return this.rollup(addDays(today, -1), today);
  }

  /**
   * The rows of a date range. Today is still happening, so its figures are computed live
   * (a stored row of today is only what the last rollup saw); so is yesterday until the
   * 00:15 job has written it. Live rows carry `live: true`.
   */
  async list(
    from: string,
    to: string,
    workflow?: string,
  ): Promise<(RollupRow & { live: boolean })[]> {
    checkRange(from, to, MAX_ROLLUP_DAYS);
    const now = this.clock.now();
    const today = localDateOf(now, this.zone);
    const stored = await this.repository.listRollups({ from, to, workflow });
    const liveDates = [addDays(today, -1), today].filter(
      (d) => d >= from && d <= to && (d === today || !stored.some((r) => r.metric_date === d)),
    );
    const live: RollupRow[] = [];
    for (const date of liveDates) {
      const rows = await this.repository.liveDay(
        { date, ...dayBounds(date, this.zone) },
        this.prices,
        now,
      );
      live.push(...rows.filter((r) => !workflow || r.workflow_name === workflow));
    }
    return [
      ...stored
        .filter((r) => !liveDates.includes(r.metric_date))
        .map((r) => ({ ...r, live: false })),
      ...live.map((r) => ({ ...r, live: true })),
    ].sort(
      (a, b) =>
        a.metric_date.localeCompare(b.metric_date) ||
        a.workflow_name.localeCompare(b.workflow_name),
    );
  }
}

export function checkRange(from: string, to: string, maxDays: number): void {
  if (!isCalendarDate(from))
    throw MetricsError.invalid('from', 'must be a date such as 2026-03-01');
  if (!isCalendarDate(to)) throw MetricsError.invalid('to', 'must be a date such as 2026-03-31');
  if (from > to) throw MetricsError.invalid('from', 'must not be after to');
  // counted, never expanded: 1000-01-01..9999-12-31 would be 3 million dates
  if (daysBetween(from, to) > maxDays) {
    throw MetricsError.invalid('to', `at most ${maxDays} days from from`);
  }
}
