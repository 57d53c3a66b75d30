import { CalendarRef } from 'src/common/time/calendar';
import {
  MAX_SKIP_RECORDS,
  planDueEvents,
  previewRuns,
  ScheduleDefinition,
  ScheduleUnit,
  SlotAction,
  SlotCalculator,
} from './slot-planner';

const MADRID = 'Europe/Madrid';
const ES_MD: CalendarRef = { country: 'ES', region: 'MD' };
const ES_CT: CalendarRef = { country: 'ES', region: 'CT' };
const H = 3_600_000;
const D = (s: string) => new Date(s);

function definition(overrides: Partial<ScheduleDefinition> = {}): ScheduleDefinition {
  return {
    cronExpression: '0 8 * * *',
    timezone: MADRID,
    perTenantTimezone: false,
    calendar: ES_MD,
    holidayPolicy: 'run',
    weekendPolicy: 'run',
    catchUpWindowSeconds: null,
    overlapPolicy: 'skip',
    ...overrides,
  };
}

function calculator(overrides: Partial<ScheduleDefinition> = {}, units?: ScheduleUnit[]) {
  const def = definition(overrides);
  return new SlotCalculator(def, units ?? [{ timezone: def.timezone, calendar: def.calendar }], {
    allowSeconds: true,
  });
}

const show = (actions: SlotAction[]) =>
  actions.map((a) =>
    a.kind === 'run'
      ? `run ${a.scheduledFor.toISOString()} ${a.executionType}`
      : `skip ${a.scheduledFor.toISOString()} ${a.reason}`,
  );

describe(SlotCalculator.name, () => {
  describe('eventsBetween', () => {
    it('a holiday skipped by policy is a skip event with its reason', () => {
      const { events } = calculator({ holidayPolicy: 'skip' }).eventsBetween(
        D('2026-01-05T12:00:00Z'),
        D('2026-01-07T12:00:00Z'),
      );
      expect(events.map((e) => [e.at.toISOString(), e.kind, e.parts.map((p) => p.reason)])).toEqual(
        [
          ['2026-01-06T07:00:00.000Z', 'skip', ['Epiphany, national holiday']],
          ['2026-01-07T07:00:00.000Z', 'run', [undefined]],
        ],
      );
    });

    it('a shifted holiday leaves a skip record at its slot and merges into the next day run', () => {
      const { events } = calculator({ holidayPolicy: 'shift' }).eventsBetween(
        D('2026-01-05T12:00:00Z'),
        D('2026-01-07T12:00:00Z'),
      );
      expect(events.map((e) => [e.at.toISOString(), e.kind, e.parts.length])).toEqual([
        ['2026-01-06T07:00:00.000Z', 'skip', 1],
        ['2026-01-07T07:00:00.000Z', 'run', 2],
      ]);
      expect(events[0].parts[0].reason).toBe(
        'Epiphany, national holiday: shifted to 2026-01-07T08:00:00+01:00',
      );
      expect(events[1].parts[0].adjustedFrom).toEqual(D('2026-01-06T07:00:00Z'));
    });

    it('a weekly slot on a regional holiday (Easter Monday in Catalonia) shifts to Tuesday on its own', () => {
      const { events } = calculator({
        cronExpression: '0 9 * * 1',
        calendar: ES_CT,
        holidayPolicy: 'shift',
      }).eventsBetween(D('2026-04-05T00:00:00Z'), D('2026-04-12T00:00:00Z'));
      expect(events.map((e) => [e.at.toISOString(), e.kind])).toEqual([
        ['2026-04-06T07:00:00.000Z', 'skip'],
        ['2026-04-07T07:00:00.000Z', 'run'],
      ]);
      expect(events[0].parts[0].reason).toBe(
        'Easter Monday, regional holiday (ES-CT): shifted to 2026-04-07T09:00:00+02:00',
      );
    });

    it('finds a run shifted from before the start (weekend slots landing on Monday)', () => {
      const [next] = calculator({ weekendPolicy: 'shift' }).nextEvents(
        D('2026-01-11T12:00:00Z'),
        1,
      );
      expect(next.at.toISOString()).toBe('2026-01-12T07:00:00.000Z');
      expect(next.parts.map((p) => p.adjustedFrom?.toISOString())).toEqual([
        '2026-01-10T07:00:00.000Z',
        '2026-01-11T07:00:00.000Z',
        undefined,
      ]);
    });

    it('DST both ways: a 02:30 cron fires at 03:00 in March and once in October', () => {
      const calc = calculator({ cronExpression: '30 2 * * *' });
      const march = calc.eventsBetween(D('2026-03-28T12:00:00Z'), D('2026-03-29T12:00:00Z')).events;
      expect(march.map((e) => [e.at.toISOString(), e.parts[0].dst])).toEqual([
        ['2026-03-29T01:00:00.000Z', { kind: 'gap', requestedLocal: '2026-03-29T02:30:00' }],
      ]);
      const october = calc.eventsBetween(
        D('2026-10-24T12:00:00Z'),
        D('2026-10-25T12:00:00Z'),
      ).events;
      expect(october.map((e) => e.at.toISOString())).toEqual(['2026-10-25T00:30:00.000Z']);
    });

    describe('per tenant timezone', () => {
      const units: ScheduleUnit[] = [
        { timezone: MADRID, calendar: ES_MD },
        { timezone: 'Atlantic/Canary', calendar: { country: 'ES', region: 'CN' } },
        { timezone: 'Europe/Lisbon', calendar: { country: 'PT' } },
      ];

      it('08:00 in each zone: one event per distinct instant, zones with the same offset share it', () => {
        const { events } = calculator({ perTenantTimezone: true }, units).eventsBetween(
          D('2026-01-07T00:00:00Z'),
          D('2026-01-07T23:00:00Z'),
        );
        expect(
          events.map((e) => [e.at.toISOString(), e.parts.map((p) => p.unit.timezone)]),
        ).toEqual([
          ['2026-01-07T07:00:00.000Z', [MADRID]],
          ['2026-01-07T08:00:00.000Z', ['Atlantic/Canary', 'Europe/Lisbon']],
        ]);
      });

      it("applies each tenant region's calendar: Madrid's holiday runs only the Catalan tenants", () => {
        const { events } = calculator({ perTenantTimezone: true, holidayPolicy: 'skip' }, [
          { timezone: MADRID, calendar: ES_MD },
          { timezone: MADRID, calendar: ES_CT },
        ]).eventsBetween(D('2025-05-01T12:00:00Z'), D('2025-05-02T12:00:00Z'));
        expect(events).toHaveLength(1);
        expect(events[0].kind).toBe('run');
        expect(events[0].parts.map((p) => p.unit.calendar.region)).toEqual(['CT']);
        expect(events[0].excluded?.map((p) => [p.unit.calendar.region, p.reason])).toEqual([
          ['MD', 'Día de la Comunidad de Madrid, regional holiday (ES-MD)'],
        ]);
      });
    });
  });

  it('uses half the period, at most 6 h, as the default catch-up window', () => {
    expect(calculator().catchUpWindowMs).toBe(6 * H);
    expect(calculator({ cronExpression: '30 * * * *' }).catchUpWindowMs).toBe(H / 2);
    expect(calculator({ catchUpWindowSeconds: 600 }).catchUpWindowMs).toBe(600_000);
    expect(calculator({ catchUpWindowSeconds: 0 }).catchUpWindowMs).toBe(0);
  });
});

describe(planDueEvents.name, () => {
  it.each([
    {
      title: 'an on-time slot runs as scheduled and advances to the next one',
      def: {},
      cursor: '2026-01-05T07:00:00Z',
      now: '2026-01-05T07:00:00.300Z',
      leaderSince: '2026-01-01T00:00:00Z',
      running: false,
      expected: ['run 2026-01-05T07:00:00.000Z scheduled'],
      next: '2026-01-06T07:00:00.000Z',
    },
    {
      title: 'catch-up inside the window: a slot missed 2 h ago runs once as catch_up',
      def: {},
      cursor: '2026-01-05T07:00:00Z',
      now: '2026-01-05T09:00:00Z',
      leaderSince: '2026-01-05T08:59:00Z',
      running: false,
      expected: ['run 2026-01-05T07:00:00.000Z catch_up'],
      next: '2026-01-06T07:00:00.000Z',
    },
    {
      title: 'catch-up outside the window (7 h > 6 h): recorded as missed, nothing runs',
      def: {},
      cursor: '2026-01-05T07:00:00Z',
      now: '2026-01-05T14:00:00Z',
      leaderSince: '2026-01-05T13:59:30Z',
      running: false,
      expected: [
        'skip 2026-01-05T07:00:00.000Z missed: no leader between 2026-01-05T07:00:00Z and 2026-01-05T13:59:30Z',
      ],
      next: '2026-01-06T07:00:00.000Z',
    },
    {
      title: 'a three-day outage: the older slots are recorded missed, only the latest runs',
      def: {},
      cursor: '2026-01-02T07:00:00Z',
      now: '2026-01-05T08:00:00Z',
      leaderSince: '2026-01-05T07:59:00Z',
      running: false,
      expected: [
        'skip 2026-01-02T07:00:00.000Z missed: no leader between 2026-01-02T07:00:00Z and 2026-01-05T07:59:00Z',
        'skip 2026-01-03T07:00:00.000Z missed: no leader between 2026-01-02T07:00:00Z and 2026-01-05T07:59:00Z',
        'skip 2026-01-04T07:00:00.000Z missed: no leader between 2026-01-02T07:00:00Z and 2026-01-05T07:59:00Z',
        'run 2026-01-05T07:00:00.000Z catch_up',
      ],
      next: '2026-01-06T07:00:00.000Z',
    },
    {
      title: 'an outage over a skipped weekend keeps the calendar reasons',
      def: { weekendPolicy: 'skip' },
      cursor: '2026-01-09T07:00:00Z',
      now: '2026-01-12T07:30:00Z',
      leaderSince: '2026-01-12T07:29:00Z',
      running: false,
      expected: [
        'skip 2026-01-09T07:00:00.000Z missed: no leader between 2026-01-09T07:00:00Z and 2026-01-12T07:29:00Z',
        'skip 2026-01-10T07:00:00.000Z Saturday, weekend',
        'skip 2026-01-11T07:00:00.000Z Sunday, weekend',
        'run 2026-01-12T07:00:00.000Z catch_up',
      ],
      next: '2026-01-13T07:00:00.000Z',
    },
    {
      title: 'a late slot while this instance was leading is not blamed on a missing leader',
      def: { catchUpWindowSeconds: 600 },
      cursor: '2026-01-05T07:00:00Z',
      now: '2026-01-05T07:20:00Z',
      leaderSince: '2026-01-01T00:00:00Z',
      running: false,
      expected: [
        'skip 2026-01-05T07:00:00.000Z missed: not started within its catch-up window of 600 s (due 2026-01-05T07:00:00Z, checked 2026-01-05T07:20:00Z)',
      ],
      next: '2026-01-06T07:00:00.000Z',
    },
    {
      title: 'a holiday skipped by policy is recorded with its reason',
      def: { holidayPolicy: 'skip' },
      cursor: '2026-01-06T07:00:00Z',
      now: '2026-01-06T07:00:00.100Z',
      leaderSince: '2026-01-01T00:00:00Z',
      running: false,
      expected: ['skip 2026-01-06T07:00:00.000Z Epiphany, national holiday'],
      next: '2026-01-07T07:00:00.000Z',
    },
    {
      title: 'a shifted holiday records the shift at its slot and waits for the next day',
      def: { holidayPolicy: 'shift' },
      cursor: '2026-01-06T07:00:00Z',
      now: '2026-01-06T07:00:00.100Z',
      leaderSince: '2026-01-01T00:00:00Z',
      running: false,
      expected: [
        'skip 2026-01-06T07:00:00.000Z Epiphany, national holiday: shifted to 2026-01-07T08:00:00+01:00',
      ],
      next: '2026-01-07T07:00:00.000Z',
    },
    {
      title: 'overlap skip: the slot is recorded skipped while the previous run is running',
      def: { overlapPolicy: 'skip' },
      cursor: '2026-01-05T07:00:00Z',
      now: '2026-01-05T07:00:00.200Z',
      leaderSince: '2026-01-01T00:00:00Z',
      running: true,
      expected: ['skip 2026-01-05T07:00:00.000Z overlap: the previous run is still running'],
      next: '2026-01-06T07:00:00.000Z',
    },
    {
      title: 'overlap allow: the slot runs anyway',
      def: { overlapPolicy: 'allow' },
      cursor: '2026-01-05T07:00:00Z',
      now: '2026-01-05T07:00:00.200Z',
      leaderSince: '2026-01-01T00:00:00Z',
      running: true,
      expected: ['run 2026-01-05T07:00:00.000Z scheduled'],
      next: '2026-01-06T07:00:00.000Z',
    },
    {
      title: 'overlap buffer_one, previous finished within the window: the buffered slot runs',
      def: { overlapPolicy: 'buffer_one', cronExpression: '0 * * * *' },
      cursor: '2026-01-05T10:00:00Z',
      now: '2026-01-05T10:10:00Z',
      leaderSince: '2026-01-01T00:00:00Z',
      running: false,
      expected: ['run 2026-01-05T10:00:00.000Z catch_up'],
      next: '2026-01-05T11:00:00.000Z',
    },
    {
      title: 'DST spring: the slot of a missing 02:30 is due at 03:00 and runs',
      def: { cronExpression: '30 2 * * *' },
      cursor: '2026-03-29T01:00:00Z',
      now: '2026-03-29T01:00:00.200Z',
      leaderSince: '2026-01-01T00:00:00Z',
      running: false,
      expected: ['run 2026-03-29T01:00:00.000Z scheduled'],
      next: '2026-03-30T00:30:00.000Z',
    },
    {
      title: 'DST autumn: after the first 02:30 the next slot is the following day',
      def: { cronExpression: '30 2 * * *' },
      cursor: '2026-10-25T00:30:00Z',
      now: '2026-10-25T00:30:00.200Z',
      leaderSince: '2026-01-01T00:00:00Z',
      running: false,
      expected: ['run 2026-10-25T00:30:00.000Z scheduled'],
      next: '2026-10-26T01:30:00.000Z',
    },
    {
      title: 'a stale next_execution_at that is no slot of the definition only moves on',
      def: {},
      cursor: '2026-01-05T07:30:00Z',
      now: '2026-01-05T07:30:00.100Z',
      leaderSince: '2026-01-01T00:00:00Z',
      running: false,
      expected: [],
      next: '2026-01-06T07:00:00.000Z',
    },
  ])('$title', ({ def, cursor, now, leaderSince, running, expected, next }) => {
    const plan = planDueEvents({
      calculator: calculator(def as Partial<ScheduleDefinition>),
      cursor: D(cursor),
      now: D(now),
      runInProgress: running,
      leaderSince: D(leaderSince),
    });
    expect(show(plan.actions)).toEqual(expected);
    expect(plan.claim).toEqual({ slot: D(cursor), next: D(next) });
  });

  it('overlap buffer_one while the previous run is running: the slot waits, nothing is claimed', () => {
    const plan = planDueEvents({
      calculator: calculator({ overlapPolicy: 'buffer_one', cronExpression: '0 * * * *' }),
      cursor: D('2026-01-05T10:00:00Z'),
      now: D('2026-01-05T10:00:00.200Z'),
      runInProgress: true,
      leaderSince: D('2026-01-01T00:00:00Z'),
    });
    expect(plan).toEqual({ claim: null, actions: [], buffered: D('2026-01-05T10:00:00Z') });
  });

  it('overlap buffer_one: a newer slot replaces the buffered one, which is recorded skipped', () => {
    const plan = planDueEvents({
      calculator: calculator({ overlapPolicy: 'buffer_one', cronExpression: '0 * * * *' }),
      cursor: D('2026-01-05T10:00:00Z'),
      now: D('2026-01-05T11:00:01Z'),
      runInProgress: true,
      leaderSince: D('2026-01-01T00:00:00Z'),
    });
    expect(show(plan.actions)).toEqual([
      'skip 2026-01-05T10:00:00.000Z overlap: the previous run is still running; replaced by the slot at 2026-01-05T11:00:00Z',
    ]);
    expect(plan.claim).toEqual({
      slot: D('2026-01-05T10:00:00Z'),
      next: D('2026-01-05T11:00:00Z'),
    });
    expect(plan.buffered).toEqual(D('2026-01-05T11:00:00Z'));
  });

  it('a long outage of a per-minute workflow: one catch-up run, skips folded into one summary', () => {
    const plan = planDueEvents({
      calculator: calculator({ cronExpression: '* * * * *' }),
      cursor: D('2026-01-05T07:00:00Z'),
      now: D('2026-01-05T10:00:20Z'),
      runInProgress: false,
      leaderSince: D('2026-01-05T10:00:10Z'),
    });
    const runs = plan.actions.filter((a) => a.kind === 'run');
    const skips = plan.actions.filter((a) => a.kind === 'skip');
    expect(show(runs)).toEqual(['run 2026-01-05T10:00:00.000Z catch_up']);
    expect(skips).toHaveLength(MAX_SKIP_RECORDS);
    // 180 missed slots 07:00..09:59: the oldest 131 in one record, the 49 most recent each their own
    expect(skips[0]).toEqual({
      kind: 'skip',
      scheduledFor: D('2026-01-05T07:00:00Z'),
      reason:
        'missed: no leader between 2026-01-05T07:00:00Z and 2026-01-05T10:00:10Z (131 slots from 2026-01-05T07:00:00Z to 2026-01-05T09:10:00Z not run, summarised)',
    });
    expect(skips[1].scheduledFor).toEqual(D('2026-01-05T09:11:00Z'));
    expect(plan.claim?.next).toEqual(D('2026-01-05T10:01:00Z'));
  });

  it('never plans more than one run, whatever the outage length', () => {
    for (const days of [1, 2, 7, 30]) {
      const plan = planDueEvents({
        calculator: calculator({ cronExpression: '0 */2 * * *' }),
        cursor: D('2025-12-31T23:00:00Z'), // local midnight
        now: new Date(Date.parse('2025-12-31T23:30:00Z') + days * 24 * H),
        runInProgress: false,
        leaderSince: D('2026-01-01T00:00:00Z'),
      });
      expect(plan.actions.filter((a) => a.kind === 'run')).toHaveLength(1);
    }
  });

  it('per tenant timezone: the run carries only the units whose zone is at that instant', () => {
    const plan = planDueEvents({
      calculator: calculator({ perTenantTimezone: true }, [
        { timezone: MADRID, calendar: ES_MD },
        { timezone: 'Atlantic/Canary', calendar: ES_MD },
      ]),
      cursor: D('2026-01-05T08:00:00Z'),
      now: D('2026-01-05T08:00:00.100Z'),
      runInProgress: false,
      leaderSince: D('2026-01-01T00:00:00Z'),
    });
    const [run] = plan.actions;
    expect(run.kind === 'run' && run.units.map((u) => u.timezone)).toEqual(['Atlantic/Canary']);
    expect(plan.claim?.next).toEqual(D('2026-01-06T07:00:00Z'));
  });
});

describe(previewRuns.name, () => {
  it('leaves skipped slots out and explains shifted ones', () => {
    const slots = previewRuns(
      calculator({ holidayPolicy: 'shift', weekendPolicy: 'skip' }),
      D('2026-01-05T12:00:00Z'),
      4,
    );
    expect(slots).toEqual([
      {
        at: '2026-01-07T07:00:00.000Z',
        local: '2026-01-07T08:00:00+01:00',
        reason: 'Epiphany, national holiday: shifted from 2026-01-06T08:00:00+01:00',
      },
      { at: '2026-01-08T07:00:00.000Z', local: '2026-01-08T08:00:00+01:00' },
      { at: '2026-01-09T07:00:00.000Z', local: '2026-01-09T08:00:00+01:00' },
      { at: '2026-01-12T07:00:00.000Z', local: '2026-01-12T08:00:00+01:00' },
    ]);
  });

  it('gives adjusted_from for a slot shifted onto an instant of its own', () => {
    const [slot] = previewRuns(
      calculator({ cronExpression: '0 9 * * 1', calendar: ES_CT, holidayPolicy: 'shift' }),
      D('2026-04-05T00:00:00Z'),
      1,
    );
    expect(slot).toEqual({
      at: '2026-04-07T07:00:00.000Z',
      local: '2026-04-07T09:00:00+02:00',
      adjusted_from: '2026-04-06T07:00:00.000Z',
      reason: 'Easter Monday, regional holiday (ES-CT): shifted from 2026-04-06T09:00:00+02:00',
    });
  });

  it('explains both DST adjustments', () => {
    const calc = calculator({ cronExpression: '30 2 * * *' });
    expect(previewRuns(calc, D('2026-03-28T12:00:00Z'), 1)).toEqual([
      {
        at: '2026-03-29T01:00:00.000Z',
        local: '2026-03-29T03:00:00+02:00',
        adjusted_from: '2026-03-29T02:30:00',
        reason:
          '02:30 does not exist on 2026-03-29 in Europe/Madrid (DST starts): fires at the next valid instant',
      },
    ]);
    expect(previewRuns(calc, D('2026-10-24T12:00:00Z'), 1)).toEqual([
      {
        at: '2026-10-25T00:30:00.000Z',
        local: '2026-10-25T02:30:00+02:00',
        reason:
          '02:30 occurs twice on 2026-10-25 in Europe/Madrid (DST ends): fires once, at the first',
      },
    ]);
  });

  it('names the tenant timezones of each slot of a per-tenant workflow', () => {
    const slots = previewRuns(
      calculator({ perTenantTimezone: true }, [
        { timezone: MADRID, calendar: ES_MD },
        { timezone: 'Atlantic/Canary', calendar: ES_MD },
        { timezone: 'Europe/Lisbon', calendar: { country: 'PT' } },
      ]),
      D('2026-01-07T00:00:00Z'),
      2,
    );
    expect(slots.map((s) => [s.at, s.local, s.timezones])).toEqual([
      ['2026-01-07T07:00:00.000Z', '2026-01-07T08:00:00+01:00', [MADRID]],
      [
        '2026-01-07T08:00:00.000Z',
        '2026-01-07T08:00:00+00:00',
        ['Atlantic/Canary', 'Europe/Lisbon'],
      ],
    ]);
  });

  it('returns exactly count slots', () => {
    expect(previewRuns(calculator(), D('2026-01-01T00:00:00Z'), 400)).toHaveLength(400);
  });
});
