import { CronExpressionParser } from 'cron-parser';
import {
  CronTime,
  CronTimeError,
  defaultCatchUpWindowMs,
  estimatePeriodMs,
  validateCron,
  validateTimezone,
} from './cron-time';

const MADRID = 'Europe/Madrid';
const iso = (d: Date) => d.toISOString();

describe(CronTime.name, () => {
  describe('next', () => {
    // Europe/Madrid 2026: clocks go 02:00 -> 03:00 on 29 March, 03:00 -> 02:00 on 25 October
    it.each([
      {
        title: 'an ordinary day maps 08:00 local to 07:00 UTC in winter',
        cron: '0 8 * * *',
        zone: MADRID,
        after: '2026-01-05T12:00:00Z',
        expected: [
          ['2026-01-06T07:00:00.000Z', '2026-01-06T08:00:00+01:00', undefined],
          ['2026-01-07T07:00:00.000Z', '2026-01-07T08:00:00+01:00', undefined],
        ],
      },
      {
        title:
          'a local time that does not exist (02:30, spring) fires at the next valid instant, 03:00',
        cron: '30 2 * * *',
        zone: MADRID,
        after: '2026-03-28T12:00:00Z',
        expected: [
          [
            '2026-03-29T01:00:00.000Z',
            '2026-03-29T03:00:00+02:00',
            { kind: 'gap', requestedLocal: '2026-03-29T02:30:00' },
          ],
          ['2026-03-30T00:30:00.000Z', '2026-03-30T02:30:00+02:00', undefined],
        ],
      },
      {
        title: '02:00, the first missing minute, also fires at 03:00',
        cron: '0 2 * * *',
        zone: MADRID,
        after: '2026-03-28T12:00:00Z',
        expected: [
          [
            '2026-03-29T01:00:00.000Z',
            '2026-03-29T03:00:00+02:00',
            { kind: 'gap', requestedLocal: '2026-03-29T02:00:00' },
          ],
          ['2026-03-30T00:00:00.000Z', '2026-03-30T02:00:00+02:00', undefined],
        ],
      },
      {
        title: 'missing half hours collapse onto the 03:00 slot, which fires once and unadjusted',
        cron: '*/30 * * * *',
        zone: MADRID,
        after: '2026-03-29T00:10:00Z',
        expected: [
          ['2026-03-29T00:30:00.000Z', '2026-03-29T01:30:00+01:00', undefined],
          ['2026-03-29T01:00:00.000Z', '2026-03-29T03:00:00+02:00', undefined],
          ['2026-03-29T01:30:00.000Z', '2026-03-29T03:30:00+02:00', undefined],
        ],
      },
      {
        title: 'a repeated local time (02:30, autumn) fires once, at its first occurrence',
        cron: '30 2 * * *',
        zone: MADRID,
        after: '2026-10-24T12:00:00Z',
        expected: [
          ['2026-10-25T00:30:00.000Z', '2026-10-25T02:30:00+02:00', { kind: 'repeated' }],
          ['2026-10-26T01:30:00.000Z', '2026-10-26T02:30:00+01:00', undefined],
        ],
      },
      {
        title: 'after the first occurrence, the second one is not a new slot',
        cron: '30 2 * * *',
        zone: MADRID,
        after: '2026-10-25T00:30:00Z',
        expected: [['2026-10-26T01:30:00.000Z', '2026-10-26T02:30:00+01:00', undefined]],
      },
      {
        title: 'an hourly cron fires 02:00 once on the autumn day, then 03:00',
        cron: '0 * * * *',
        zone: MADRID,
        after: '2026-10-24T23:30:00Z',
        expected: [
          ['2026-10-25T00:00:00.000Z', '2026-10-25T02:00:00+02:00', { kind: 'repeated' }],
          ['2026-10-25T02:00:00.000Z', '2026-10-25T03:00:00+01:00', undefined],
        ],
      },
      {
        title: 'a start inside the repeated hour does not fire its wall times again',
        cron: '*/30 * * * *',
        zone: MADRID,
        after: '2026-10-25T01:10:00Z', // 02:10 CET, second pass
        expected: [['2026-10-25T02:00:00.000Z', '2026-10-25T03:00:00+01:00', undefined]],
      },
      {
        title: 'New York springs forward at 02:00 too: 02:15 fires at 03:00 EDT',
        cron: '15 2 * * *',
        zone: 'America/New_York',
        after: '2026-03-07T12:00:00Z',
        expected: [
          [
            '2026-03-08T07:00:00.000Z',
            '2026-03-08T03:00:00-04:00',
            { kind: 'gap', requestedLocal: '2026-03-08T02:15:00' },
          ],
          ['2026-03-09T06:15:00.000Z', '2026-03-09T02:15:00-04:00', undefined],
        ],
      },
      {
        title: 'a half-hour DST shift (Lord Howe, October) maps 02:15 to 02:30',
        cron: '15 2 * * *',
        zone: 'Australia/Lord_Howe',
        after: '2026-10-03T00:00:00Z',
        expected: [
          [
            '2026-10-03T15:30:00.000Z',
            '2026-10-04T02:30:00+11:00',
            { kind: 'gap', requestedLocal: '2026-10-04T02:15:00' },
          ],
          ['2026-10-04T15:15:00.000Z', '2026-10-05T02:15:00+11:00', undefined],
        ],
      },
    ])('$title', ({ cron, zone, after, expected }) => {
      const slots = CronTime.parse(cron, zone).next(new Date(after), expected.length);
      expect(slots.map((s) => [iso(s.at), s.local, s.dst])).toEqual(expected);
    });

    it('is strictly after its start', () => {
      const [slot] = CronTime.parse('0 8 * * *', MADRID).next(new Date('2026-01-06T07:00:00Z'), 1);
      expect(iso(slot.at)).toBe('2026-01-07T07:00:00.000Z');
    });

    it('accepts a seconds field when asked to', () => {
      const slots = CronTime.parse('* * * * * *', MADRID, { allowSeconds: true }).next(
        new Date('2026-01-06T07:00:00.400Z'),
        3,
      );
      expect(slots.map((s) => iso(s.at))).toEqual([
        '2026-01-06T07:00:01.000Z',
        '2026-01-06T07:00:02.000Z',
        '2026-01-06T07:00:03.000Z',
      ]);
    });

    it('refuses an unknown zone or a bad expression with the reason', () => {
      expect(() => CronTime.parse('0 8 * * *', 'Mars/Olympus')).toThrow(CronTimeError);
      expect(() => CronTime.parse('0 8 * *', MADRID)).toThrow(/4 fields/);
    });
  });

  describe('between', () => {
    it('lists every slot in (after, until], DST days included', () => {
      const slots = CronTime.parse('0 * * * *', MADRID).between(
        new Date('2026-03-28T23:00:00Z'),
        new Date('2026-03-29T23:00:00Z'),
      );
      // a 23-hour local day: 24 UTC hours, 02:00 local missing and collapsed onto 03:00
      expect(slots).toHaveLength(24);
      expect(new Set(slots.map((s) => iso(s.at))).size).toBe(24);
      expect(iso(slots[0].at)).toBe('2026-03-29T00:00:00.000Z');
      expect(iso(slots[23].at)).toBe('2026-03-29T23:00:00.000Z');
    });

    it('lists the autumn day with the repeated hour once', () => {
      const slots = CronTime.parse('0 * * * *', MADRID).between(
        new Date('2026-10-24T22:00:00Z'), // local midnight
        new Date('2026-10-25T23:00:00Z'), // next local midnight
      );
      // 25 real hours, 24 distinct local hours
      expect(slots).toHaveLength(24);
      expect(slots.map((s) => s.local)).toContain('2026-10-25T02:00:00+02:00');
      expect(slots.map((s) => s.local)).not.toContain('2026-10-25T02:00:00+01:00');
    });

    it('stops at the limit', () => {
      const slots = CronTime.parse('* * * * *', MADRID).between(
        new Date('2026-01-01T00:00:00Z'),
        new Date('2026-02-01T00:00:00Z'),
        10,
      );
      expect(slots).toHaveLength(10);
    });
  });

  describe('previous', () => {
    it('finds the last slot at or before an instant', () => {
      const slot = CronTime.parse('0 8 * * *', MADRID).previous(
        new Date('2026-01-07T06:59:00Z'),
        2 * 86_400_000,
      );
      expect(slot && iso(slot.at)).toBe('2026-01-06T07:00:00.000Z');
    });
  });
});

describe('cron-parser evaluated in the zone directly', () => {
  it('adds the gap instead of firing at its end, which is why wall times are mapped here', () => {
    const it2 = CronExpressionParser.parse('30 2 * * *', {
      tz: MADRID,
      currentDate: new Date('2026-03-28T12:00:00Z'),
    });
    // 01:30Z is 03:30 local; the contract is 03:00 local (01:00Z), see CronTime above
    expect(it2.next().toDate().toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });
});

describe(validateCron.name, () => {
  it.each([
    ['0 8 * * *', {}, null],
    ['0 9 * * 1', {}, null],
    ['30 * * * *', {}, null],
    ['0 8 * * MON-FRI', {}, null],
    ['0 8 * * THU', {}, null],
    ['0 8 L * *', {}, null],
    ['* * * * * *', { allowSeconds: true }, null],
    ['* * * * * *', {}, /6 fields/],
    ['@daily', {}, /1 fields/],
    ['0 8 * *', {}, /4 fields/],
    ['61 8 * * *', {}, /not a valid cron expression/],
    ['0 25 * * *', {}, /not a valid cron expression/],
    ['H 8 * * *', {}, /hashed/],
    ['', {}, /must be a cron expression/],
  ])('%s %j', (cron, options, expected) => {
    const problem = validateCron(cron, options);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });

  it('refuses a non-string', () => {
    expect(validateCron(42)).toMatch(/must be a cron expression/);
  });
});

describe(validateTimezone.name, () => {
  it.each([
    ['Europe/Madrid', null],
    ['Atlantic/Canary', null],
    ['UTC', null],
    ['Europe/Madird', /not an IANA timezone/],
    ['', /not an IANA timezone/],
  ])('%s', (zone, expected) => {
    const problem = validateTimezone(zone);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });
});

describe(estimatePeriodMs.name, () => {
  const H = 3_600_000;
  it.each([
    ['0 8 * * *', {}, 24 * H],
    ['0 8 * * 1-5', {}, 24 * H],
    ['0 9 * * 1', {}, 7 * 24 * H],
    ['30 * * * *', {}, H],
    ['*/15 * * * *', {}, H / 4],
    ['0 8,9 * * *', {}, H],
    ['* * * * * *', { allowSeconds: true }, 1000],
  ])('%s', (cron, options, expected) => {
    expect(estimatePeriodMs(cron, options)).toBe(expected);
  });
});

describe(defaultCatchUpWindowMs.name, () => {
  const H = 3_600_000;
  it.each([
    ['daily: half would be 12 h, capped at 6 h', '0 8 * * *', 6 * H],
    ['weekly: capped at 6 h', '0 9 * * 1', 6 * H],
    ['twice a day: half the period', '0 8,20 * * *', 6 * H],
    ['hourly: half an hour', '30 * * * *', H / 2],
    ['every 15 minutes: 7.5 minutes', '*/15 * * * *', H / 8],
  ])('%s', (_title, cron, expected) => {
    expect(defaultCatchUpWindowMs(cron)).toBe(expected);
  });
});
