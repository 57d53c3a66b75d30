import { DateTime } from 'luxon';
import { cachedZone } from 'src/common/time/cached-zone';
import { runSteps, Steps } from 'src/common/time/steps';
import {
  CalendarPolicies,
  CalendarRef,
  DayPolicy,
  decideSlot,
  describeShift,
  isRunDay,
  MAX_SHIFT_DAYS,
} from 'src/common/time/calendar';
import {
  CronOptions,
  CronTime,
  defaultCatchUpWindowMs,
  DstAdjustment,
  estimatePeriodMs,
  localIso,
} from 'src/common/time/cron-time';

/**
 * From a workflow's schedule to what the scheduler does (pure; `now` is always passed in).
 *
 * A workflow's schedule is a stream of *events*, each at one instant:
 * - a **run** event: one or more cron slots fire at that instant (a plain slot, a slot moved
 *   out of a DST gap, or a slot shifted off a holiday/weekend; slots landing on the same
 *   instant merge, since the run key is (workflow, scheduled_for));
 * - a **skip** event: a slot the calendar skips, or the original instant of a shifted slot,
 *   recorded so history shows why nothing ran there.
 * `next_execution_at` is the instant of the next event, so the scheduler wakes for skips too
 * and records them when they happen.
 */

export type OverlapPolicy = 'skip' | 'buffer_one' | 'allow';

/** The workflow fields the scheduler reads (WorkflowEntity has them all). */
export interface ScheduleDefinition {
  cronExpression: string;
  timezone: string;
  perTenantTimezone: boolean;
  calendar: CalendarRef;
  holidayPolicy: DayPolicy;
  weekendPolicy: DayPolicy;
  catchUpWindowSeconds: number | null;
  overlapPolicy: OverlapPolicy;
}

/**
 * A timezone and holiday calendar slots are computed in: the workflow's own, or in
 * per-tenant mode one per distinct (tenant timezone, tenant region).
 */
export interface ScheduleUnit {
  timezone: string;
  calendar: CalendarRef;
}

export const unitKey = (u: ScheduleUnit) =>
  `${u.timezone}|${u.calendar.country}|${u.calendar.region ?? ''}`;

/** One unit's cron slot as it lands at an event's instant. */
export interface EventPart {
  unit: ScheduleUnit;
  /** the cron slot (before any calendar shift) */
  slot: Date;
  action: 'run' | 'skip';
  /** for a shifted run: the original slot */
  adjustedFrom?: Date;
  /** calendar reason (skip, shift) */
  reason?: string;
  dst?: DstAdjustment;
}

export interface ScheduleEvent {
  at: Date;
  /** run when at least one part runs here; its skip parts (other units) are then left out */
  kind: 'run' | 'skip';
  parts: EventPart[];
  /** per-tenant mode: units whose own calendar skips this instant while others run */
  excluded?: EventPart[];
}

/** Slots later than this after their time are not "on time" but a misfire (catch-up). */
export const ON_TIME_TOLERANCE_MS = 5_000;
/** Beyond this many skip records in one claim, the oldest are folded into one summary. */
export const MAX_SKIP_RECORDS = 50;
const DAY_MS = 86_400_000;
/** How far ahead `nextEvents` looks before concluding there is nothing (Feb 29 crons: 4 years). */
const HORIZON_MS = 9 * 366 * DAY_MS;
/** Cap on cron slots evaluated per unit per query (a per-second cron over days). */
const MAX_RAW_SLOTS = 200_000;

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Computes the event stream of one workflow for a set of units. */
export class SlotCalculator {
  private readonly crons: { unit: ScheduleUnit; cron: CronTime }[];
  private readonly policies: CalendarPolicies;
  readonly periodMs: number;
  /** the misfire window: catch_up_window_seconds, or half the period capped at 6 h */
  readonly catchUpWindowMs: number;

  /** Throws CronTimeError when the cron or a zone is unusable. */
  constructor(
    readonly definition: ScheduleDefinition,
    readonly units: ScheduleUnit[],
    options: CronOptions = {},
  ) {
    this.crons = units.map((unit) => ({
      unit,
      cron: CronTime.parse(definition.cronExpression, unit.timezone, options),
    }));
    this.policies = {
      holidayPolicy: definition.holidayPolicy,
      weekendPolicy: definition.weekendPolicy,
    };
    this.periodMs = estimatePeriodMs(definition.cronExpression, options);
    this.catchUpWindowMs =
      definition.catchUpWindowSeconds !== null && definition.catchUpWindowSeconds !== undefined
        ? definition.catchUpWindowSeconds * 1000
        : defaultCatchUpWindowMs(definition.cronExpression, options);
  }

  /** Events with after < at <= until, oldest first. */
  eventsBetween(after: Date, until: Date): { events: ScheduleEvent[]; complete: boolean } {
    return runSteps(this.eventsBetweenSteps(after, until));
  }

  /** `eventsBetween` as steps (see steps.ts), for request handlers that must not block. */
  *eventsBetweenSteps(
    after: Date,
    until: Date,
  ): Steps<{ events: ScheduleEvent[]; complete: boolean }> {
    let untilMs = until.getTime();
    let complete = true;
    const parts: { at: number; part: EventPart }[] = [];
    for (const { unit, cron } of this.crons) {
      const raw = yield* cron.betweenSteps(this.lookFrom(unit, after), until, MAX_RAW_SLOTS);
      if (raw.length >= MAX_RAW_SLOTS) {
        // only events up to the last evaluated slot are certainly all known
        untilMs = Math.min(untilMs, raw[raw.length - 1].at.getTime());
        complete = false;
      }
      for (const slot of raw) {
        yield;
        const decision = decideSlot(slot.at, unit.timezone, unit.calendar, this.policies);
        const base = { unit, slot: slot.at, ...(slot.dst ? { dst: slot.dst } : {}) };
        if (decision.action === 'run') {
          parts.push({ at: slot.at.getTime(), part: { ...base, action: 'run' } });
        } else if (decision.action === 'skip') {
          parts.push({
            at: slot.at.getTime(),
            part: { ...base, action: 'skip', reason: decision.reason },
          });
        } else {
          parts.push({
            at: slot.at.getTime(),
            part: { ...base, action: 'skip', reason: describeShift(decision, unit.timezone) },
          });
          parts.push({
            at: decision.at.getTime(),
            part: { ...base, action: 'run', adjustedFrom: slot.at, reason: decision.reason },
          });
        }
      }
    }
    const afterMs = after.getTime();
    const byInstant = new Map<number, EventPart[]>();
    for (const { at, part } of parts) {
      if (at <= afterMs || at > untilMs) continue;
      byInstant.set(at, [...(byInstant.get(at) ?? []), part]);
    }
    const events = [...byInstant.entries()]
      .sort(([a], [b]) => a - b)
      .map(([at, unsorted]): ScheduleEvent => {
        const atParts = unsorted.sort((a, b) => a.slot.getTime() - b.slot.getTime());
        const runs = atParts.filter((p) => p.action === 'run');
        return runs.length > 0
          ? {
              at: new Date(at),
              kind: 'run',
              parts: runs,
              ...(runs.length < atParts.length
                ? { excluded: atParts.filter((p) => p.action === 'skip') }
                : {}),
            }
          : { at: new Date(at), kind: 'skip', parts: atParts };
      });
    return { events, complete };
  }

  /** The first `count` events after `after` (only run events with runsOnly). */
  nextEvents(after: Date, count: number, options: { runsOnly?: boolean } = {}): ScheduleEvent[] {
    return runSteps(this.nextEventsSteps(after, count, options));
  }

  /** `nextEvents` as steps (see steps.ts). */
  *nextEventsSteps(
    after: Date,
    count: number,
    options: { runsOnly?: boolean } = {},
  ): Steps<ScheduleEvent[]> {
    let span = Math.max(
      Number.isFinite(this.periodMs) ? this.periodMs * (count + 1) : DAY_MS,
      1000,
    );
    for (;;) {
      const until = new Date(after.getTime() + span);
      const { events, complete } = yield* this.eventsBetweenSteps(after, until);
      const wanted = options.runsOnly ? events.filter((e) => e.kind === 'run') : events;
      if (wanted.length >= count || !complete || span >= HORIZON_MS) return wanted.slice(0, count);
      span = Math.min(span * 4, HORIZON_MS);
    }
  }

  nextEventAfter(after: Date): ScheduleEvent | null {
    return this.nextEvents(after, 1)[0] ?? null;
  }

  /**
   * Where to start reading cron slots so that a slot shifted from an earlier day onto a
   * later instant is not missed: the start of the run of non-run days just before `after`.
   */
  private lookFrom(unit: ScheduleUnit, after: Date): Date {
    if (this.policies.holidayPolicy !== 'shift' && this.policies.weekendPolicy !== 'shift')
      return after;
    let day = DateTime.fromJSDate(after, { zone: cachedZone(unit.timezone) }).startOf('day');
    for (let i = 0; i < MAX_SHIFT_DAYS; i++) {
      const before = day.minus({ days: 1 });
      if (isRunDay(before.toISODate()!, unit.calendar, this.policies)) break;
      day = before;
    }
    return new Date(Math.min(day.toMillis() - 1, after.getTime()));
  }
}

export type SlotAction =
  | {
      kind: 'run';
      scheduledFor: Date;
      executionType: 'scheduled' | 'catch_up';
      /** the units that run (per-tenant mode: which tenants' zones) */
      units: ScheduleUnit[];
      /** units left out of this run by their own calendar, with the reason (logged) */
      excluded?: { unit: ScheduleUnit; reason: string }[];
    }
  | { kind: 'skip'; scheduledFor: Date; reason: string };

export interface SlotPlan {
  /** move next_execution_at from `slot` to `next` (conditional, fenced); null: nothing to claim yet */
  claim: { slot: Date; next: Date | null } | null;
  /** what to record or start once the claim succeeded, oldest first */
  actions: SlotAction[];
  /** a run that waits for the previous one to finish (overlap policy buffer_one) */
  buffered?: Date;
}

export interface PlanInput {
  calculator: SlotCalculator;
  /** next_execution_at, at or before now */
  cursor: Date;
  now: Date;
  /** a previous run of this workflow is still running (only asked when the policy needs it) */
  runInProgress: boolean;
  /** the overlap policy in effect (decideOverlap); default: the definition's */
  overlapPolicy?: OverlapPolicy;
  /** when this scheduler's leadership began; slots before it were missed for lack of a leader */
  leaderSince: Date | null;
}

/**
 * What to do with the due events (cursor <= at <= now):
 * - calendar skips are recorded with their reason;
 * - **misfire / catch-up**: of the due run events only the latest may run. It runs as
 *   `scheduled` when at most ON_TIME_TOLERANCE_MS late, as `catch_up` when within the
 *   catch-up window, and is otherwise recorded as skipped. Every older due run is recorded
 *   as skipped ("missed: no leader between <cursor> and <leader since>"). So an outage of
 *   any length yields at most one run per workflow;
 * - each missed slot gets its own skipped record, so the history of a daily workflow shows
 *   every day; past MAX_SKIP_RECORDS in one claim (a per-minute workflow down for hours)
 *   the oldest are folded into a single summarised record at the oldest slot;
 * - **overlap**: `skip` records the slot as skipped while a previous run is running,
 *   `allow` starts it anyway, `buffer_one` leaves next_execution_at on that slot (claiming
 *   the older events) and starts it once the previous run has finished, if that is still
 *   within the catch-up window; a newer slot coming due replaces the buffered one, which is
 *   then recorded as skipped. At most one slot waits.
 */
export function planDueEvents(input: PlanInput): SlotPlan {
  const { calculator, cursor, now, runInProgress, leaderSince } = input;
  const overlapPolicy = input.overlapPolicy ?? calculator.definition.overlapPolicy;
  const window = calculator.catchUpWindowMs;
  const due = calculator.eventsBetween(new Date(cursor.getTime() - 1), now).events;
  const next = () => calculator.nextEventAfter(now)?.at ?? null;
  const runs = due.filter((e) => e.kind === 'run');
  const candidate = runs[runs.length - 1];

  const missed = (at: Date) =>
    leaderSince && leaderSince.getTime() > at.getTime()
      ? `missed: no leader between ${isoSeconds(cursor)} and ${isoSeconds(leaderSince)}`
      : `missed: not started within its catch-up window of ${Math.round(window / 1000)} s (due ${isoSeconds(at)}, checked ${isoSeconds(now)})`;

  const skips: { scheduledFor: Date; reason: string }[] = [];
  for (const event of due) {
    if (event === candidate) continue;
    if (event.kind === 'skip') {
      skips.push({ scheduledFor: event.at, reason: joinReasons(event.parts) });
    } else if (candidate && event.at < candidate.at) {
      const replaced = runInProgress && overlapPolicy === 'buffer_one';
      skips.push({
        scheduledFor: event.at,
        reason: replaced
          ? `overlap: the previous run is still running; replaced by the slot at ${isoSeconds(candidate.at)}`
          : missed(event.at),
      });
    }
  }

  let run: SlotAction | null = null;
  let claimNext: Date | null | undefined;
  let buffered: Date | undefined;
  if (candidate) {
    const lateness = now.getTime() - candidate.at.getTime();
    const units = candidate.parts.map((p) => p.unit);
    if (lateness > Math.max(window, ON_TIME_TOLERANCE_MS)) {
      skips.push({ scheduledFor: candidate.at, reason: missed(candidate.at) });
    } else if (runInProgress && overlapPolicy === 'skip') {
      skips.push({
        scheduledFor: candidate.at,
        reason: 'overlap: the previous run is still running',
      });
    } else if (runInProgress && overlapPolicy === 'buffer_one') {
      buffered = candidate.at;
      // events after the buffered slot stay due; they are handled once it has started
      for (let i = skips.length - 1; i >= 0; i--)
        if (skips[i].scheduledFor > candidate.at) skips.splice(i, 1);
      claimNext = candidate.at.getTime() === cursor.getTime() ? undefined : candidate.at;
    } else {
      run = {
        kind: 'run',
        scheduledFor: candidate.at,
        executionType: lateness <= ON_TIME_TOLERANCE_MS ? 'scheduled' : 'catch_up',
        units,
        ...(candidate.excluded
          ? { excluded: candidate.excluded.map((p) => ({ unit: p.unit, reason: p.reason ?? '' })) }
          : {}),
      };
    }
  }

  const actions: SlotAction[] = [
    ...foldSkips(skips, cursor, leaderSince, now).map((s) => ({ kind: 'skip' as const, ...s })),
    ...(run ? [run] : []),
  ].sort((a, b) => a.scheduledFor.getTime() - b.scheduledFor.getTime());

  if (buffered) {
    return { claim: claimNext ? { slot: cursor, next: claimNext } : null, actions, buffered };
  }
  return { claim: { slot: cursor, next: next() }, actions };
}

function joinReasons(parts: EventPart[]): string {
  return [...new Set(parts.map((p) => p.reason).filter((r): r is string => !!r))].join('; ');
}

/** Keeps at most MAX_SKIP_RECORDS: the oldest beyond that become one summarised record. */
function foldSkips(
  skips: { scheduledFor: Date; reason: string }[],
  cursor: Date,
  leaderSince: Date | null,
  now: Date,
): { scheduledFor: Date; reason: string }[] {
  const sorted = [...skips].sort((a, b) => a.scheduledFor.getTime() - b.scheduledFor.getTime());
  if (sorted.length <= MAX_SKIP_RECORDS) return sorted;
  const folded = sorted.slice(0, sorted.length - MAX_SKIP_RECORDS + 1);
  const to = leaderSince && leaderSince > cursor ? leaderSince : now;
  const first = folded[0].scheduledFor;
  const last = folded[folded.length - 1].scheduledFor;
  return [
    {
      scheduledFor: first,
      reason: `missed: no leader between ${isoSeconds(cursor)} and ${isoSeconds(to)} (${folded.length} slots from ${isoSeconds(first)} to ${isoSeconds(last)} not run, summarised)`,
    },
    ...sorted.slice(folded.length),
  ];
}

/** One slot of GET /schedule/next-run. */
export interface PreviewSlot {
  /** UTC ISO */
  at: string;
  /** ISO with the offset of the slot's (first) timezone */
  local: string;
  /** the original slot of a shifted one (UTC ISO), or the local time a DST gap removed (no offset) */
  adjusted_from?: string;
  reason?: string;
  /** per-tenant-timezone workflows: the tenant timezones this slot runs for */
  timezones?: string[];
}

/** The next `count` runs with every holiday/weekend/DST adjustment and why; skips left out. */
export function previewRuns(calculator: SlotCalculator, after: Date, count: number): PreviewSlot[] {
  return runSteps(previewRunsSteps(calculator, after, count));
}

/** `previewRuns` as steps (see steps.ts). */
export function* previewRunsSteps(
  calculator: SlotCalculator,
  after: Date,
  count: number,
): Steps<PreviewSlot[]> {
  const events = yield* calculator.nextEventsSteps(after, count, { runsOnly: true });
  const slots: PreviewSlot[] = [];
  for (const event of events) {
    yield;
    slots.push(previewSlot(calculator, event));
  }
  return slots;
}

function previewSlot(calculator: SlotCalculator, event: ScheduleEvent): PreviewSlot {
  const zone = event.parts[0].unit.timezone;
  const slot: PreviewSlot = { at: event.at.toISOString(), local: localIso(event.at, zone) };
  const natural = event.parts.some((p) => !p.adjustedFrom && !p.dst);
  const reasons: string[] = [];
  for (const part of event.parts) {
    if (part.adjustedFrom) {
      reasons.push(
        `${part.reason}: shifted from ${localIso(part.adjustedFrom, part.unit.timezone)}`,
      );
      if (!natural && !slot.adjusted_from) slot.adjusted_from = part.adjustedFrom.toISOString();
    } else if (part.dst?.kind === 'gap') {
      reasons.push(
        `${part.dst.requestedLocal.slice(11, 16)} does not exist on ${part.dst.requestedLocal.slice(0, 10)} in ${part.unit.timezone} (DST starts): fires at the next valid instant`,
      );
      if (!natural && !slot.adjusted_from) slot.adjusted_from = part.dst.requestedLocal;
    } else if (part.dst?.kind === 'repeated') {
      const local = localIso(event.at, part.unit.timezone);
      reasons.push(
        `${local.slice(11, 16)} occurs twice on ${local.slice(0, 10)} in ${part.unit.timezone} (DST ends): fires once, at the first`,
      );
    }
  }
  if (reasons.length > 0) slot.reason = [...new Set(reasons)].join('; ');
  if (calculator.definition.perTenantTimezone) {
    slot.timezones = [...new Set(event.parts.map((p) => p.unit.timezone))].sort();
  }
  return slot;
}
