import {
  CalendarPolicies,
  CalendarRef,
  decideSlot,
  isRunDay,
  publicHolidaysOn,
  validateCalendar,
  weekendDayOn,
} from './calendar';

const MADRID = 'Europe/Madrid';
const ES_MD: CalendarRef = { country: 'ES', region: 'MD' };
const ES_CT: CalendarRef = { country: 'ES', region: 'CT' };
const ES: CalendarRef = { country: 'ES' };
const policies = (holidayPolicy: string, weekendPolicy: string) =>
  ({ holidayPolicy, weekendPolicy }) as CalendarPolicies;

describe(decideSlot.name, () => {
  it.each([
    {
      title: 'a working Monday runs',
      at: '2026-01-05T07:00:00Z',
      calendar: ES_MD,
      p: policies('skip', 'skip'),
      expected: { action: 'run', at: '2026-01-05T07:00:00.000Z' },
    },
    {
      title: 'Epiphany (national) is skipped with its name',
      at: '2026-01-06T07:00:00Z',
      calendar: ES_MD,
      p: policies('skip', 'run'),
      expected: {
        action: 'skip',
        at: '2026-01-06T07:00:00.000Z',
        reason: 'Epiphany, national holiday',
      },
    },
    {
      title: 'Epiphany with holiday policy run runs',
      at: '2026-01-06T07:00:00Z',
      calendar: ES_MD,
      p: policies('run', 'skip'),
      expected: { action: 'run', at: '2026-01-06T07:00:00.000Z' },
    },
    {
      title: 'Epiphany shifted moves to Wednesday at the same local time',
      at: '2026-01-06T07:00:00Z',
      calendar: ES_MD,
      p: policies('shift', 'shift'),
      expected: {
        action: 'shift',
        at: '2026-01-07T07:00:00.000Z',
        adjusted_from: '2026-01-06T07:00:00.000Z',
        reason: 'Epiphany, national holiday',
      },
    },
    {
      title: "Madrid's own holiday (2 May 2025) is regional",
      at: '2025-05-02T06:00:00Z',
      calendar: ES_MD,
      p: policies('skip', 'run'),
      expected: {
        action: 'skip',
        at: '2025-05-02T06:00:00.000Z',
        reason: 'Día de la Comunidad de Madrid, regional holiday (ES-MD)',
      },
    },
    {
      title: "Madrid's holiday is a normal day in Catalonia",
      at: '2025-05-02T06:00:00Z',
      calendar: ES_CT,
      p: policies('skip', 'run'),
      expected: { action: 'run', at: '2025-05-02T06:00:00.000Z' },
    },
    {
      title: 'Maundy Thursday is a regional public holiday in Madrid',
      at: '2026-04-02T06:00:00Z',
      calendar: ES_MD,
      p: policies('skip', 'run'),
      expected: {
        action: 'skip',
        at: '2026-04-02T06:00:00.000Z',
        reason: 'Maundy Thursday, regional holiday (ES-MD)',
      },
    },
    {
      title:
        'Maundy Thursday is only an observance nationally, so it runs on the national calendar',
      at: '2026-04-02T06:00:00Z',
      calendar: ES,
      p: policies('skip', 'run'),
      expected: { action: 'run', at: '2026-04-02T06:00:00.000Z' },
    },
    {
      title: 'Easter: Thursday shifts past Good Friday and the weekend to Monday',
      at: '2026-04-02T06:00:00Z',
      calendar: ES_MD,
      p: policies('shift', 'shift'),
      expected: {
        action: 'shift',
        at: '2026-04-06T06:00:00.000Z',
        adjusted_from: '2026-04-02T06:00:00.000Z',
        reason: 'Maundy Thursday, regional holiday (ES-MD)',
      },
    },
    {
      title: 'with weekends on run, a Friday holiday shifts to Saturday',
      at: '2026-04-03T06:00:00Z',
      calendar: ES_MD,
      p: policies('shift', 'run'),
      expected: {
        action: 'shift',
        at: '2026-04-04T06:00:00.000Z',
        adjusted_from: '2026-04-03T06:00:00.000Z',
        reason: 'Good Friday, national holiday',
      },
    },
    {
      title: "a substitute day (All Saints' on a Sunday, moved to Monday in Madrid) is a holiday",
      at: '2026-11-02T07:00:00Z',
      calendar: ES_MD,
      p: policies('skip', 'run'),
      expected: {
        action: 'skip',
        at: '2026-11-02T07:00:00.000Z',
        reason: "All Saints' Day (substitute day), regional holiday (ES-MD)",
      },
    },
    {
      title: 'Saturday with weekend policy skip',
      at: '2026-01-10T07:00:00Z',
      calendar: ES_MD,
      p: policies('run', 'skip'),
      expected: { action: 'skip', at: '2026-01-10T07:00:00.000Z', reason: 'Saturday, weekend' },
    },
    {
      title: 'Sunday shifted goes to Monday',
      at: '2026-01-11T07:00:00Z',
      calendar: ES_MD,
      p: policies('run', 'shift'),
      expected: {
        action: 'shift',
        at: '2026-01-12T07:00:00.000Z',
        adjusted_from: '2026-01-11T07:00:00.000Z',
        reason: 'Sunday, weekend',
      },
    },
    {
      title: 'a shift across the spring DST change keeps the local time (08:00 +01 -> 08:00 +02)',
      at: '2026-03-28T07:00:00Z',
      calendar: ES_MD,
      p: policies('run', 'shift'),
      expected: {
        action: 'shift',
        at: '2026-03-30T06:00:00.000Z',
        adjusted_from: '2026-03-28T07:00:00.000Z',
        reason: 'Saturday, weekend',
      },
    },
    {
      title: 'a holiday on a Saturday: both causes named when both skip',
      at: '2026-08-15T06:00:00Z',
      calendar: ES_MD,
      p: policies('skip', 'skip'),
      expected: {
        action: 'skip',
        at: '2026-08-15T06:00:00.000Z',
        reason: 'Assumption, national holiday; Saturday, weekend',
      },
    },
    {
      title: 'a holiday on a Saturday: skip (weekend) wins over shift (holiday)',
      at: '2026-08-15T06:00:00Z',
      calendar: ES_MD,
      p: policies('shift', 'skip'),
      expected: { action: 'skip', at: '2026-08-15T06:00:00.000Z', reason: 'Saturday, weekend' },
    },
    {
      title: 'a holiday on a Saturday with weekends on run follows the holiday policy',
      at: '2026-08-15T06:00:00Z',
      calendar: ES_MD,
      p: policies('skip', 'run'),
      expected: {
        action: 'skip',
        at: '2026-08-15T06:00:00.000Z',
        reason: 'Assumption, national holiday',
      },
    },
    {
      title: 'the local date decides: 00:30 on 6 January in Madrid is still 5 January in UTC',
      at: '2026-01-05T23:30:00Z',
      calendar: ES_MD,
      p: policies('skip', 'run'),
      expected: {
        action: 'skip',
        at: '2026-01-05T23:30:00.000Z',
        reason: 'Epiphany, national holiday',
      },
    },
  ])('$title', ({ at, calendar, p, expected }) => {
    const decision = decideSlot(new Date(at), MADRID, calendar, p);
    expect({
      ...decision,
      at: decision.at.toISOString(),
      ...(decision.adjusted_from ? { adjusted_from: decision.adjusted_from.toISOString() } : {}),
    }).toEqual(expected);
  });

  it('uses the slot zone for the date: 23:30 UTC on 5 January is 5 January in New York', () => {
    const decision = decideSlot(
      new Date('2026-01-05T23:30:00Z'),
      'America/New_York',
      ES_MD,
      policies('skip', 'run'),
    );
    expect(decision.action).toBe('run');
  });
});

describe(publicHolidaysOn.name, () => {
  it('leaves observances out', () => {
    // San José (19 March) is an observance on the national calendar, not a day off in Madrid 2026
    expect(publicHolidaysOn('2026-03-19', ES_MD)).toEqual([]);
    expect(publicHolidaysOn('2026-04-05', ES_MD)).toEqual([]); // Easter Sunday
  });

  it('labels national and regional holidays', () => {
    expect(publicHolidaysOn('2026-12-25', ES_MD)).toEqual([
      { date: '2026-12-25', name: 'Christmas Day', scope: 'national' },
    ]);
    expect(publicHolidaysOn('2026-12-26', ES_CT)).toEqual([
      { date: '2026-12-26', name: 'San Esteban', scope: 'regional' },
    ]);
  });
});

describe(weekendDayOn.name, () => {
  it.each([
    ['2026-01-09', null],
    ['2026-01-10', 'Saturday'],
    ['2026-01-11', 'Sunday'],
  ])('%s', (date, expected) => {
    expect(weekendDayOn(date)).toBe(expected);
  });
});

describe(isRunDay.name, () => {
  it('counts a weekend as a run day when weekends run', () => {
    expect(isRunDay('2026-01-10', ES_MD, policies('skip', 'run'))).toBe(true);
    expect(isRunDay('2026-01-10', ES_MD, policies('run', 'shift'))).toBe(false);
    expect(isRunDay('2026-01-06', ES_MD, policies('shift', 'run'))).toBe(false);
  });
});

describe(validateCalendar.name, () => {
  it.each([
    [{ country: 'ES', region: 'MD' }, null],
    [{ country: 'ES' }, null],
    [{ country: 'ES', region: null }, null],
    [{ country: 'FR' }, null],
    [
      { country: 'XX', region: 'MD' },
      { field: 'country', message: expect.stringMatching(/"XX" is not a country/) },
    ],
    [
      { country: 'ES', region: 'ZZ' },
      {
        field: 'region',
        message: expect.stringMatching(/"ZZ" is not a region of ES; known: .*MD/),
      },
    ],
    [{ country: 'es' }, { field: 'country', message: expect.any(String) }],
    ['ES', { field: '', message: expect.stringMatching(/must be an object/) }],
  ])('%j', (calendar, expected) => {
    expect(validateCalendar(calendar)).toEqual(expected);
  });
});
