import { DateTime } from 'luxon';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A calendar date "YYYY-MM-DD" that exists (2026-02-30 does not). */
export function isCalendarDate(value: string): boolean {
  return DATE.test(value) && DateTime.fromISO(value, { zone: 'UTC' }).isValid;
}

/** The local calendar date of an instant in `zone`. */
export function localDateOf(at: Date, zone: string): string {
  return DateTime.fromJSDate(at, { zone }).toISODate()!;
}

/**
 * The instants a local date spans in `zone`: [start, end). 23 or 25 hours on DST change
 * days, which is why the rollup never assumes 24.
 */
export function dayBounds(date: string, zone: string): { start: Date; end: Date } {
  const start = DateTime.fromISO(date, { zone }).startOf('day');
  return { start: start.toJSDate(), end: start.plus({ days: 1 }).toJSDate() };
}

/**
 * How many dates `from` to `to` spans, both included (0 when to is before from), computed
 * rather than counted: a request's range is checked with it before anything is expanded.
 */
export function daysBetween(from: string, to: string): number {
  const start = DateTime.fromISO(from, { zone: 'UTC' });
  const end = DateTime.fromISO(to, { zone: 'UTC' });
  return Math.max(0, Math.round(end.diff(start, 'days').days) + 1);
}

/** Every date from `from` to `to`, both included, at most `max` of them. */
export function datesBetween(from: string, to: string, max = Infinity): string[] {
  const out: string[] = [];
  let d = DateTime.fromISO(from, { zone: 'UTC' });
  const last = DateTime.fromISO(to, { zone: 'UTC' });
  while (d <= last && out.length < max) {
    out.push(d.toISODate()!);
    d = d.plus({ days: 1 });
  }
  return out;
}

/** The date `days` before or after `date`. */
export function addDays(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: 'UTC' }).plus({ days }).toISODate()!;
}
