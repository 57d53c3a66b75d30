import { deadMansSwitch, SwitchInput } from './dead-mans-switch';

const daily: SwitchInput = {
  workflowName: 'daily_operations',
  isEnabled: true,
  cronExpression: '0 8 * * *',
  timezone: 'Europe/Madrid',
  updatedAt: new Date('2026-01-01T00:00:00Z'),
  lastHeartbeatAt: new Date('2026-03-02T07:10:00Z'), // Monday 08:10 Madrid
};
const HOUR = 3600;

describe('deadMansSwitch', () => {
  it('holds within period plus grace of the last completion, trips just after', () => {
    // due: Monday 08:10 + 1 day + 1 h = Tuesday 09:10 Madrid (08:10 UTC)
    const before = deadMansSwitch(daily, new Date('2026-03-03T08:09:59Z'), HOUR)!;
    expect(before).toMatchObject({ triggered: false, period_seconds: 86400, overdue_seconds: 0 });
    expect(before.due_by).toBe('2026-03-03T08:10:00.000Z');
    const after = deadMansSwitch(daily, new Date('2026-03-03T08:12:00Z'), HOUR)!;
    expect(after).toMatchObject({ triggered: true, overdue_seconds: 120 });
  });

  it('uses the actual gap for weekday schedules: Friday to Monday is three days', () => {
    const weekdays = {
      ...daily,
      cronExpression: '0 8 * * 1-5',
      lastHeartbeatAt: new Date('2026-03-06T07:05:00Z'), // Friday
    };
    expect(deadMansSwitch(weekdays, new Date('2026-03-07T12:00:00Z'), HOUR)!.triggered).toBe(false);
    expect(deadMansSwitch(weekdays, new Date('2026-03-09T08:00:00Z'), HOUR)!.triggered).toBe(false);
    expect(deadMansSwitch(weekdays, new Date('2026-03-09T08:10:00Z'), HOUR)!.triggered).toBe(true);
  });

  it('gives a just-changed workflow a full period, and has no switch when disabled or unscheduled', () => {
    const neverRan = {
      ...daily,
      lastHeartbeatAt: null,
      updatedAt: new Date('2026-03-03T07:00:00Z'),
    };
    expect(deadMansSwitch(neverRan, new Date('2026-03-04T07:59:00Z'), HOUR)!.triggered).toBe(false);
    expect(deadMansSwitch(neverRan, new Date('2026-03-04T08:01:00Z'), HOUR)!.triggered).toBe(true);
    expect(deadMansSwitch({ ...daily, isEnabled: false }, new Date(), HOUR)).toBeNull();
    expect(deadMansSwitch({ ...daily, cronExpression: null }, new Date(), HOUR)).toBeNull();
  });
});
