import { IANAZone } from 'luxon';

const HOUR_MS = 3_600_000;
/** Hours remembered per zone before the cache starts over (about 11 years of hours). */
const MAX_CACHED_HOURS = 100_000;
const zones = new Map<string, CachedZone>();

/**
 * An IANA zone whose offsets are remembered per UTC hour. Luxon asks Intl for the offset of
 * every instant it touches (formatToParts, ~20 us each) and a slot costs a few dozen such
 * lookups, so previewing 400 slots or backfilling 1,000 blocked the event loop for seconds.
 * An offset changes at most once in any hour, so an hour whose first
 * and last millisecond have the same offset has it throughout and is cached; the hour of a
 * transition is asked exactly every time. Results are identical to IANAZone's.
 */
export class CachedZone extends IANAZone {
  private readonly hours = new Map<number, number>();

  override offset(ts: number): number {
    if (!Number.isFinite(ts)) return super.offset(ts);
    const hour = Math.floor(ts / HOUR_MS);
    let cached = this.hours.get(hour);
    if (cached === undefined) {
      const first = super.offset(hour * HOUR_MS);
      const last = super.offset(hour * HOUR_MS + HOUR_MS - 1);
      // NaN marks a transition hour
      cached = first === last ? first : NaN;
      if (this.hours.size >= MAX_CACHED_HOURS) this.hours.clear();
      this.hours.set(hour, cached);
    }
    return Number.isNaN(cached) ? super.offset(ts) : cached;
  }
}

/** The shared cached zone for an IANA name (validate the name first: see validateTimezone). */
export function cachedZone(name: string): CachedZone {
  let zone = zones.get(name);
  if (!zone) {
    zone = new CachedZone(name);
    // only valid names are kept, so arbitrary input cannot grow the map
    if (zone.isValid) zones.set(name, zone);
  }
  return zone;
}
