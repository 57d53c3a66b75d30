/**
 * How far this instance's clock is from the database's (pure; the database clock is the
 * authority for firing slots and for execution timestamps).
 *
 * A sample is one round trip: the local clock read before (`sentAtMs`) and after
 * (`receivedAtMs`) a `SELECT clock_timestamp()` that answered `databaseMs`. The database read
 * its clock somewhere inside the round trip, so the offset is known to within half of it.
 */
export interface ClockSample {
  sentAtMs: number;
  databaseMs: number;
  receivedAtMs: number;
}

export interface ClockSkewReading {
  /** this instance's clock minus the database's: positive when this instance runs ahead */
  offsetMs: number;
  /** half the round trip: the offset is exact to within this */
  uncertaintyMs: number;
  /** the skew is beyond the limit even in the most favourable reading of the sample */
  skewed: boolean;
}

/** A round trip longer than this says more about the network than about the clocks. */
export const MAX_USEFUL_ROUND_TRIP_MS = 2_000;

/**
 * The reading of one sample, or null when its round trip is too long to tell anything.
 * `skewed` only when |offset| minus the uncertainty still exceeds the limit, so a slow
 * round trip never raises a false alarm.
 */
export function readClockSkew(sample: ClockSample, maxSkewMs: number): ClockSkewReading | null {
  const roundTrip = sample.receivedAtMs - sample.sentAtMs;
  if (roundTrip < 0 || roundTrip > MAX_USEFUL_ROUND_TRIP_MS) return null;
  const midpoint = sample.sentAtMs + roundTrip / 2;
  const offsetMs = Math.round(midpoint - sample.databaseMs);
  const uncertaintyMs = Math.ceil(roundTrip / 2);
  return { offsetMs, uncertaintyMs, skewed: Math.abs(offsetMs) - uncertaintyMs > maxSkewMs };
}
