import {
  addDays,
  datesBetween,
  dayBounds,
  daysBetween,
  isCalendarDate,
  localDateOf,
} from './local-day';

describe('local days', () => {
  it('spans 23 hours on the spring DST change and 25 on the autumn one (Madrid)', () => {
    const spring = dayBounds('2026-03-29', 'Europe/Madrid');
    expect(spring.start.toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(spring.end.toISOString()).toBe('2026-03-29T22:00:00.000Z');
    const autumn = dayBounds('2026-10-25', 'Europe/Madrid');
    expect((autumn.end.getTime() - autumn.start.getTime()) / 3600_000).toBe(25);
  });

  it('dates an instant in the zone, not in UTC', () => {
    expect(localDateOf(new Date('2026-03-01T23:30:00Z'), 'Europe/Madrid')).toBe('2026-03-02');
    expect(localDateOf(new Date('2026-03-01T23:30:00Z'), 'UTC')).toBe('2026-03-01');
  });

  it('lists dates inclusively and moves by days', () => {
    expect(datesBetween('2026-02-27', '2026-03-02')).toEqual([
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
      '2026-03-02',
    ]);
    expect(datesBetween('2026-03-02', '2026-03-01')).toEqual([]);
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(datesBetween('2026-02-27', '2026-03-02', 2)).toEqual(['2026-02-27', '2026-02-28']);
  });

  it('counts the dates of a range without listing them', () => {
    expect(daysBetween('2026-02-27', '2026-03-02')).toBe(4);
    expect(daysBetween('2026-03-29', '2026-03-29')).toBe(1);
    expect(daysBetween('2026-03-02', '2026-03-01')).toBe(0);
    const started = performance.now();
    expect(daysBetween('1000-01-01', '9999-12-31')).toBe(3287182);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('accepts only real calendar dates', () => {
    expect(isCalendarDate('2026-02-28')).toBe(true);
    expect(isCalendarDate('2026-02-30')).toBe(false);
    expect(isCalendarDate('2026-2-3')).toBe(false);
    expect(isCalendarDate('yesterday')).toBe(false);
  });
});
