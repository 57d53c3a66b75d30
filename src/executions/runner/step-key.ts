import { hash } from 'node:crypto';
import { DateTime } from 'luxon';

/** What a downstream call's identity is made of: the work, not the attempt at it. */
export interface StepIdentity {
  workflowId: string;
  /** the run's slot (`scheduled_for`); a retry or backfill of the slot keeps it */
  scheduledFor: Date;
  tenantId: string;
  stepName: string;
}

/**
 * The Idempotency-Key of a step's downstream call: `orc1-` and the first 40 hex digits
 * of SHA-256 over `workflow_id|scheduled_for (ISO, UTC)|tenant_id|step_name`.
 *
 * Built from (workflow, slot, tenant, step) rather than the execution id, because one
 * slot's tenant work may be attempted by several executions: the engine's own retries
 * (same row), a resumed lease (same row), a manual retry or a backfill of the slot (new
 * rows, same slot). They all send the same key, so a step that took effect before its
 * answer was lost is answered from the downstream's cache instead of being done twice.
 * A manual run is its own slot (its scheduled_for is when it was asked for), so it does
 * new work. Hashed so the key has one short length whatever the step name, and carries
 * no identifiers into the downstream's logs; the version prefix lets the format change
 * without colliding with old keys.
 */
export function stepIdempotencyKey(id: StepIdentity): string {
  const material = `${id.workflowId}|${id.scheduledFor.toISOString()}|${id.tenantId}|${id.stepName}`;
  // the one-shot hash: no Hash object per step (bench/fanout, 2026-12-07)
  return `orc1-${hash('sha256', material, 'hex').slice(0, 40)}`;
}

/** Distinct (slot, zone) pairs remembered; a run has one slot and a few zones. */
const BUSINESS_DATES_KEPT = 1024;
const businessDates = new Map<string, string>();

/**
 * The business day of a slot: its local date in `zone` (YYYY-MM-DD). A slot at
 * 2026-03-02T23:30Z is the 3rd in Madrid and the 2nd in Lisbon. An unknown zone falls
 * back to `fallbackZone` (the workflow's).
 *
 * Remembered per (slot, zone, fallback): every step of every tenant of a run asks for the
 * same few answers, and luxon's zone conversion was a tenth of the engine's CPU in the
 * bench/fanout profile (2026-12-07). The answer cannot change: it depends on nothing else.
 */
export function businessDate(
  scheduledFor: Date,
  zone: string | null,
  fallbackZone: string,
): string {
  const key = `${scheduledFor.getTime()}\u0000${zone ?? ''}\u0000${fallbackZone}`;
  let date = businessDates.get(key);
  if (date === undefined) {
    date = localDate(scheduledFor, zone, fallbackZone);
    if (businessDates.size >= BUSINESS_DATES_KEPT) businessDates.clear();
    businessDates.set(key, date);
  }
  return date;
}

function localDate(scheduledFor: Date, zone: string | null, fallbackZone: string): string {
  for (const z of [zone, fallbackZone]) {
    if (!z) continue;
    const local = DateTime.fromJSDate(scheduledFor, { zone: z });
    if (local.isValid) return local.toISODate()!;
  }
  return DateTime.fromJSDate(scheduledFor, { zone: 'utc' }).toISODate()!;
}
