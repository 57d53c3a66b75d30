import Holidays from 'date-holidays';
import { DateTime } from 'luxon';
import { cachedZone } from './cached-zone';
import { localIso, resolveWall } from './cron-time';

/**
 * Public holidays and weekends, and what a workflow's policy does with a slot that falls on
 * one (docs/architecture.md guarantee 7). Pure: the holiday data ships with `date-holidays`.
 *
 * Only holidays of type `public` count; observances (Mother's Day, Easter Sunday, San José
 * where it is not a day off) do not. A holiday is "national" when the country's own
 * calendar has it as public on that date, otherwise "regional" (the region's calendar adds
 * it, e.g. Madrid's 2 May, or a regional substitute day for a holiday on a Sunday).
 */

export interface CalendarRef {
  /** ISO 3166-1 alpha-2 country, e.g. ES */
  country: string;
  /** the country's subdivision as date-holidays names it (for ES: MD, CT, AN, ...) */
  region?: string | null;
}

export type DayPolicy = 'run' | 'skip' | 'shift';

export interface CalendarPolicies {
  holidayPolicy: DayPolicy;
  weekendPolicy: DayPolicy;
}

export interface PublicHoliday {
  /** local date, YYYY-MM-DD */
  date: string;
  name: string;
  scope: 'national' | 'regional';
}

export interface CalendarDecision {
  action: DayPolicy;
  /** when the slot fires: the slot itself, or the shifted instant */
  at: Date;
  /** the original slot, for a shifted one */
  adjusted_from?: Date;
  /** why it is skipped or shifted: "Epiphany, national holiday", "Saturday, weekend" */
  reason?: string;
}

/** A shift looks this far ahead for a business day before giving up (and skipping). */
export const MAX_SHIFT_DAYS = 31;

const WEEKEND: Record<number, string> = { 6: 'Saturday', 7: 'Sunday' };
const RANK: Record<DayPolicy, number> = { run: 0, shift: 1, skip: 2 };

const instances = new Map<string, Holidays>();
const yearCache = new Map<string, Map<string, PublicHoliday[]>>();

function holidaysFor(country: string, region?: string | null): Holidays {
  const key = `${country}/${region ?? ''}`;
  let hd = instances.get(key);
  if (!hd) {
    hd = region
      ? new Holidays(country, region, { languages: ['en'] })
      : new Holidays(country, { languages: ['en'] });
    instances.set(key, hd);
  }
  return hd;
}

function publicDates(hd: Holidays, year: number): Map<string, string[]> {
  const byDate = new Map<string, string[]>();
  for (const h of hd.getHolidays(year)) {
    if (h.type !== 'public') continue;
    const date = h.date.slice(0, 10);
    byDate.set(date, [...(byDate.get(date) ?? []), h.name]);
  }
  return byDate;
}

function holidaysOfYear(calendar: CalendarRef, year: number): Map<string, PublicHoliday[]> {
  const key = `${calendar.country}/${calendar.region ?? ''}/${year}`;
  let result = yearCache.get(key);
  if (result) return result;
  const national = publicDates(holidaysFor(calendar.country), year);
  const all = calendar.region
    ? publicDates(holidaysFor(calendar.country, calendar.region), year)
    : national;
  result = new Map();
  for (const [date, names] of all) {
    const nationalNames = national.get(date) ?? [];
    result.set(
      date,
      names.map((name) => ({
        date,
        name,
        scope: nationalNames.includes(name) ? 'national' : 'regional',
      })),
    );
  }
  yearCache.set(key, result);
  return result;
}

// date-holidays' country and region lists are static data; validateCalendar runs for every
// tenant on each scheduler pass (tenant-units.ts), so they are read once.
let countryList: Record<string, string> | undefined;
const regionLists = new Map<string, Record<string, string>>();

function knownCountries(): Record<string, string> {
  countryList ??= new Holidays().getCountries('en');
  return countryList;
}

function knownRegions(country: string): Record<string, string> {
  let regions = regionLists.get(country);
  if (!regions) {
    regions = new Holidays().getStates(country, 'en') ?? {};
    regionLists.set(country, regions);
  }
  return regions;
}

/** Why the calendar is unusable (and which field), or null when date-holidays knows it. */
export function validateCalendar(
  calendar: unknown,
): { field: 'country' | 'region' | ''; message: string } | null {
  if (typeof calendar !== 'object' || calendar === null) {
    return { field: '', message: 'must be an object such as {"country": "ES", "region": "MD"}' };
  }
  const { country, region } = calendar as Record<string, unknown>;
  if (typeof country !== 'string' || !(country in knownCountries())) {
    return {
      field: 'country',
      message: `"${String(country)}" is not a country with a holiday calendar (ISO 3166-1 alpha-2 such as ES)`,
    };
  }
  if (region === undefined || region === null) return null;
  const regions = knownRegions(country);
  if (typeof region !== 'string' || !(region in regions)) {
    const known = Object.keys(regions);
    return {
      field: 'region',
      message: `"${String(region)}" is not a region of ${country}${known.length ? `; known: ${known.join(', ')}` : ' (it has none)'}`,
    };
  }
  return null;
}

/** The public holidays on a local date (YYYY-MM-DD), national first; empty when none. */
export function publicHolidaysOn(date: string, calendar: CalendarRef): PublicHoliday[] {
  const found = holidaysOfYear(calendar, Number(date.slice(0, 4))).get(date) ?? [];
  return [...found].sort((a, b) => (a.scope === b.scope ? 0 : a.scope === 'national' ? -1 : 1));
}

/** Saturday and Sunday (the weekend of every calendar this service is used with). */
export function weekendDayOn(date: string): string | null {
  return WEEKEND[DateTime.fromISO(date, { zone: 'UTC' }).weekday] ?? null;
}

function describeHoliday(h: PublicHoliday, calendar: CalendarRef): string {
  return h.scope === 'national'
    ? `${h.name}, national holiday`
    : `${h.name}, regional holiday (${calendar.country}-${calendar.region})`;
}

/** The causes that apply to a local date with the policy each one asks for. */
function causesOn(date: string, calendar: CalendarRef, policies: CalendarPolicies) {
  const causes: { policy: DayPolicy; reason: string }[] = [];
  for (const h of publicHolidaysOn(date, calendar)) {
    causes.push({ policy: policies.holidayPolicy, reason: describeHoliday(h, calendar) });
  }
  const weekend = weekendDayOn(date);
  if (weekend) causes.push({ policy: policies.weekendPolicy, reason: `${weekend}, weekend` });
  return causes;
}

/** A day the workflow runs on under its own policies (a "business day" for it). */
export function isRunDay(date: string, calendar: CalendarRef, policies: CalendarPolicies): boolean {
  return causesOn(date, calendar, policies).every((c) => c.policy === 'run');
}

/**
 * What happens to the slot `at` in `timezone`. When a day is both a holiday and a weekend
 * day the stricter policy wins (skip over shift over run): an operator who skips weekends
 * does not want a Saturday holiday shifted into the week, and vice versa.
 *
 * `shift` moves the slot to the same local time on the next day the workflow runs on under
 * its own policies: with both policies `shift` that is the next business day; with
 * weekends on `run` a Friday holiday moves to Saturday. None within MAX_SHIFT_DAYS: skip.
 */
export function decideSlot(
  at: Date,
  timezone: string,
  calendar: CalendarRef,
  policies: CalendarPolicies,
): CalendarDecision {
  const local = DateTime.fromJSDate(at, { zone: cachedZone(timezone) });
  const causes = causesOn(local.toISODate()!, calendar, policies);
  const action = causes.reduce<DayPolicy>(
    (worst, c) => (RANK[c.policy] > RANK[worst] ? c.policy : worst),
    'run',
  );
  if (action === 'run') return { action, at };
  const reason = causes
    .filter((c) => c.policy === action)
    .map((c) => c.reason)
    .join('; ');
  if (action === 'skip') return { action, at, reason };

  const zone = cachedZone(timezone);
  for (let days = 1; days <= MAX_SHIFT_DAYS; days++) {
    const day = local.plus({ days });
    if (!isRunDay(day.toISODate()!, calendar, policies)) continue;
    const wall = Date.UTC(
      day.year,
      day.month - 1,
      day.day,
      local.hour,
      local.minute,
      local.second,
      local.millisecond,
    );
    return { action: 'shift', at: new Date(resolveWall(wall, zone).at), adjusted_from: at, reason };
  }
  return {
    action: 'skip',
    at,
    reason: `${reason}; no day to shift to within ${MAX_SHIFT_DAYS} days`,
  };
}

/** Human form of a shift for logs and reasons: "shifted to 2026-01-07T08:00:00+01:00". */
export function describeShift(decision: CalendarDecision, timezone: string): string {
  return `${decision.reason}: shifted to ${localIso(decision.at, timezone)}`;
}
