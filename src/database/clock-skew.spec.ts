import { MAX_USEFUL_ROUND_TRIP_MS, readClockSkew } from './clock-skew';

const LIMIT_MS = 5_000;
const DB = Date.parse('2026-12-06T08:00:00Z');

describe(readClockSkew.name, () => {
  it.each([
    // [case, sentAt - db, round trip, offset, skewed]
    ['in step', 0, 10, 5, false],
    ['90 s fast', 90_000, 10, 90_005, true],
    ['90 s slow', -90_000, 10, -89_995, true],
    ['just under the limit', 4_990, 10, 4_995, false],
    ['just over the limit', 5_000, 20, 5_010, false],
    ['over the limit beyond the uncertainty', 5_020, 20, 5_030, true],
  ])('%s', (_, lead, roundTrip, offset, skewed) => {
    const reading = readClockSkew(
      { sentAtMs: DB + lead, databaseMs: DB, receivedAtMs: DB + lead + roundTrip },
      LIMIT_MS,
    );
    expect(reading).toEqual({ offsetMs: offset, uncertaintyMs: roundTrip / 2, skewed });
  });

  it('does not call a slow round trip skew: the database read its clock somewhere inside it', () => {
    // 1.9 s round trip, midpoint 5.9 s ahead: could be 4.95 s, within the limit
    const reading = readClockSkew(
      { sentAtMs: DB + 4_950, databaseMs: DB, receivedAtMs: DB + 6_850 },
      LIMIT_MS,
    );
    expect(reading).toMatchObject({ offsetMs: 5_900, skewed: false });
  });

  it('ignores a sample whose round trip is too long to tell anything', () => {
    expect(
      readClockSkew(
        { sentAtMs: DB, databaseMs: DB, receivedAtMs: DB + MAX_USEFUL_ROUND_TRIP_MS + 1 },
        LIMIT_MS,
      ),
    ).toBeNull();
  });

  it('ignores a sample taken across a backwards jump of the local clock', () => {
    expect(
      readClockSkew({ sentAtMs: DB, databaseMs: DB, receivedAtMs: DB - 1 }, LIMIT_MS),
    ).toBeNull();
  });
});
