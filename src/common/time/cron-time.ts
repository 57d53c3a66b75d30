import { CronExpressionParser } from 'cron-parser';
import { DateTime, IANAZone, Zone } from 'luxon';
import { cachedZone } from './cached-zone';
import { runSteps, Steps } from './steps';

/**
 * Cron slots in a workflow's IANA timezone, right across DST (docs/architecture.md guarantee 7).
 *
 * cron-parser evaluated directly in the zone gets the spring-forward gap wrong for us: in
 * Europe/Madrid "30 2 * * *" on the last Sunday of March fires at 03:30 (it adds the gap),
 * whereas the contract is "the next valid instant", 03:00. So cron-parser only enumerates
 * *wall-clock* times (run in UTC, where no time is missing or repeated) and this module maps
 * each wall time to an instant with the zone's offsets:
 * - a wall time that exists once maps to that instant;
 * - a wall time inside a gap maps to the end of the gap (the first instant whose local time
 *   is later); several gap times, and the slot at the gap end itself, collapse into one slot;
 * - a wall time that exists twice (autumn) maps to its first occurrence only. A repeated
 *   local time therefore fires once, and an hourly cron skips the second 02:00 (classic
 *   cron behaviour), because a slot's identity is its local time.
 */

export interface CronOptions {
  /**
   * Accept a six-field expression with a leading seconds field. Only for tests and the
   * lateness benchmark: the public API accepts five fields, since a seconds field would
   * silently change what "0 8 * * *" means.
   */
  allowSeconds?: boolean;
}

export type DstAdjustment =
  /** the local time does not exist that day; the slot fires at the end of the gap */
  | { kind: 'gap'; requestedLocal: string }
  /** the local time occurs twice that day; the slot fires at the first occurrence only */
  | { kind: 'repeated' };

export interface CronSlot {
  at: Date;
  /** ISO 8601 local time with offset, e.g. 2026-03-29T03:00:00+02:00 */
  local: string;
  dst?: DstAdjustment;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Offsets are sampled this far either side of a wall time to see both sides of a transition. */
const OFFSET_PROBE_MS = 14 * HOUR_MS;
/** Longer than any clock change a zone makes (DST is 1 h, a few historical ones 2 h). */
const MAX_DST_SHIFT_MS = 3 * HOUR_MS;
const MAX_CATCH_UP_DEFAULT_MS = 6 * HOUR_MS;
/** Guards against a pathological expression turning a bounded query into a long loop. */
const MAX_ITERATIONS = 2_000_000;

export class CronTimeError extends Error {}

/** Why the expression is unusable, or null when it is a valid cron for this option set. */
export function validateCron(expression: unknown, options: CronOptions = {}): string | null {
  if (typeof expression !== 'string' || expression.trim() === '') {
    return 'must be a cron expression such as "0 8 * * *"';
  }
  const fields = expression.trim().split(/\s+/);
  const allowed = options.allowSeconds ? [5, 6] : [5];
  if (!allowed.includes(fields.length)) {
    return `"${expression}" has ${fields.length} fields; a five-field cron expression such as "0 8 * * *" is expected`;
  }
  // cron-parser's H (hashed) values depend on a seed; a schedule must mean one thing
  if (
    /h/i.test(
      expression.replace(
        /\b(mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\b/gi,
        '',
      ),
    )
  ) {
    return `"${expression}" uses H (hashed) values, which are not supported`;
  }
  try {
    CronExpressionParser.parse(expression, { tz: 'UTC', strict: false });
    return null;
  } catch (err) {
    return `"${expression}" is not a valid cron expression: ${(err as Error).message}`;
  }
}

/** Why the zone is unusable, or null for a known IANA zone. */
export function validateTimezone(zone: unknown): string | null {
  if (typeof zone !== 'string' || !IANAZone.isValidZone(zone)) {
    return `"${String(zone)}" is not an IANA timezone such as Europe/Madrid`;
  }
  return null;
}

/** Wall-clock milliseconds: the local time of `ms` in `zone`, written as if it were UTC. */
export function wallOf(ms: number, zone: Zone): number {
  return ms + zone.offset(ms) * MINUTE_MS;
}

/**
 * The instant of a wall-clock time in a zone, with the DST rules above. Exported for the
 * calendar's "same local time on the next business day".
 */
export function resolveWall(wallMs: number, zone: Zone): { at: number; dst?: DstAdjustment } {
  const offsets = [
    ...new Set([zone.offset(wallMs - OFFSET_PROBE_MS), zone.offset(wallMs + OFFSET_PROBE_MS)]),
  ];
  const instants = offsets
    .map((offset) => wallMs - offset * MINUTE_MS)
    .filter((at) => wallOf(at, zone) === wallMs)
    .sort((a, b) => a - b);
  if (instants.length > 1) return { at: instants[0], dst: { kind: 'repeated' } };
  if (instants.length === 1) return { at: instants[0] };
  // a gap: the first instant whose local time is at or after the requested one
  let lo = wallMs - Math.max(...offsets) * MINUTE_MS;
  let hi = wallMs - Math.min(...offsets) * MINUTE_MS;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallOf(mid, zone) >= wallMs) hi = mid;
    else lo = mid;
  }
  const requestedLocal = DateTime.fromMillis(wallMs, { zone: 'UTC' }).toISO({
    includeOffset: false,
    suppressMilliseconds: true,
  })!;
  return { at: hi, dst: { kind: 'gap', requestedLocal } };
}

export function localIso(at: Date | number, zone: string): string {
  return DateTime.fromMillis(typeof at === 'number' ? at : at.getTime(), {
    zone: cachedZone(zone),
  }).toISO({
    suppressMilliseconds: true,
  })!;
}

/** A parsed cron expression bound to a timezone. */
export class CronTime {
  private readonly zone: Zone;

  private constructor(
    readonly expression: string,
    readonly timezone: string,
  ) {
    this.zone = cachedZone(timezone);
  }

  /** Throws CronTimeError with the reason when the expression or the zone is unusable. */
  static parse(expression: string, timezone: string, options: CronOptions = {}): CronTime {
    const problem = validateCron(expression, options) ?? validateTimezone(timezone);
    if (problem) throw new CronTimeError(problem);
    return new CronTime(expression.trim(), timezone);
  }

  /** The next `count` slots strictly after `after`. */
  next(after: Date, count: number): CronSlot[] {
    // one extra: only the last slot found can still absorb a later (gap) wall time
    return runSteps(this.collect(after, (slots) => slots.length > count)).slice(0, count);
  }

  /** Every slot with after < at <= until (at most `limit`, a guard for huge ranges). */
  between(after: Date, until: Date, limit = 100_000): CronSlot[] {
    return runSteps(this.betweenSteps(after, until, limit));
  }

  /** `between` as steps (see steps.ts): yields after every cron slot evaluated. */
  *betweenSteps(after: Date, until: Date, limit = 100_000): Steps<CronSlot[]> {
    const untilMs = until.getTime();
    // the latest local time of any instant up to `until`: the offset may have been larger a
    // little earlier (autumn: local time ran back), never by more than MAX_DST_SHIFT_MS ago
    const maxOffset = Math.max(
      this.zone.offset(untilMs),
      this.zone.offset(untilMs - MAX_DST_SHIFT_MS),
    );
    const lastWall = untilMs + maxOffset * MINUTE_MS;
    const slots = yield* this.collect(
      after,
      (found, wallMs) => found.length > limit || wallMs > lastWall,
    );
    return slots.filter((s) => s.at.getTime() <= untilMs).slice(0, limit);
  }

  /** The last slot at or before `at`, looking back at most `lookbackMs`; null if none. */
  previous(at: Date, lookbackMs: number): CronSlot | null {
    const slots = this.between(new Date(at.getTime() - lookbackMs), at);
    return slots.length > 0 ? slots[slots.length - 1] : null;
  }

  private *collect(
    after: Date,
    isDone: (found: CronSlot[], wallMs: number) => boolean,
  ): Steps<CronSlot[]> {
    const afterMs = after.getTime();
    const iterator = CronExpressionParser.parse(this.expression, {
      tz: 'UTC',
      currentDate: new Date(wallOf(afterMs, this.zone)),
    });
    const found: CronSlot[] = [];
    for (let i = 0; i < MAX_ITERATIONS; i++) {
      if (i > 0) yield;
      let wallMs: number;
      try {
        wallMs = iterator.next().getTime();
      } catch {
        break; // no further slot (e.g. "0 0 30 2 *" is refused at parse, but ranges can end)
      }
      // the wall time's instant can only be later than this bound, so stop once we are done
      if (isDone(found, wallMs)) break;
      const { at, dst } = resolveWall(wallMs, this.zone);
      // an occurrence at or before `after` (the first pass of a repeated hour) is not new
      if (at <= afterMs) continue;
      const last = found[found.length - 1];
      if (last && last.at.getTime() === at) {
        // gap times collapse onto the gap end; a real slot there carries no adjustment
        if (!dst) delete last.dst;
        continue;
      }
      found.push({ at: new Date(at), local: localIso(at, this.timezone), ...(dst ? { dst } : {}) });
    }
    return found;
  }
}

/**
 * The shortest gap between consecutive slots, in ms (Infinity for a one-off expression).
 * Measured in UTC from a fixed reference so it does not move with the calendar or DST.
 */
export function estimatePeriodMs(expression: string, options: CronOptions = {}): number {
  const problem = validateCron(expression, options);
  if (problem) throw new CronTimeError(problem);
  const iterator = CronExpressionParser.parse(expression, {
    tz: 'UTC',
    currentDate: new Date('2025-01-05T23:59:59.999Z'),
  });
  const times: number[] = [];
  for (let i = 0; i < 16; i++) {
    try {
      times.push(iterator.next().getTime());
    } catch {
      break;
    }
  }
  let period = Infinity;
  for (let i = 1; i < times.length; i++) period = Math.min(period, times[i] - times[i - 1]);
  return period;
}

/**
 * Default misfire window: half the period, at most 6 h. The cap applies to every period of
 * 12 h or more (daily, weekly, monthly): a run that starts more than 6 h late no longer
 * serves the morning it was meant for.
 */
export function defaultCatchUpWindowMs(expression: string, options: CronOptions = {}): number {
  return Math.min(estimatePeriodMs(expression, options) / 2, MAX_CATCH_UP_DEFAULT_MS);
}
