import { businessDate, stepIdempotencyKey } from './step-key';

const identity = {
  workflowId: '7d1d2b0e-4a44-4d8a-9d7e-2f3f1b9c0a11',
  scheduledFor: new Date('2026-11-28T07:00:00Z'),
  tenantId: '2c9a4c7e-0b1f-4f7a-8a55-8c1f0b6f1e22',
  stepName: 'send_summary',
};

describe('stepIdempotencyKey', () => {
  it('is the same for the same workflow, slot, tenant and step', () => {
    expect(stepIdempotencyKey({ ...identity, scheduledFor: new Date(identity.scheduledFor) })).toBe(
      stepIdempotencyKey(identity),
    );
  });

  it.each([
    ['workflow', { workflowId: '00000000-0000-4000-8000-000000000000' }],
    ['slot', { scheduledFor: new Date('2026-11-29T07:00:00Z') }],
    ['tenant', { tenantId: '00000000-0000-4000-8000-000000000001' }],
    ['step', { stepName: 'generate_forecasts' }],
  ])('changes with the %s', (_, change) => {
    expect(stepIdempotencyKey({ ...identity, ...change })).not.toBe(stepIdempotencyKey(identity));
  });

  it('is short and of one length whatever the step name', () => {
    const long = stepIdempotencyKey({ ...identity, stepName: 'x'.repeat(200) });
    expect(long).toMatch(/^orc1-[0-9a-f]{40}$/);
    expect(stepIdempotencyKey(identity)).toHaveLength(long.length);
  });
});

describe('businessDate', () => {
  it.each([
    ['2026-03-02T23:30:00Z', 'Europe/Madrid', '2026-03-03'],
    ['2026-03-02T23:30:00Z', 'Europe/Lisbon', '2026-03-02'],
    ['2026-03-02T23:30:00Z', 'Atlantic/Canary', '2026-03-02'],
    ['2026-03-29T00:30:00Z', 'Europe/Madrid', '2026-03-29'],
  ])('%s in %s is %s', (instant, zone, expected) => {
    expect(businessDate(new Date(instant), zone, 'Europe/Madrid')).toBe(expected);
  });

  it("falls back to the workflow's zone when the tenant has none or an unknown one", () => {
    const slot = new Date('2026-03-02T23:30:00Z');
    expect(businessDate(slot, null, 'Europe/Madrid')).toBe('2026-03-03');
    expect(businessDate(slot, 'Mars/Olympus', 'Europe/Madrid')).toBe('2026-03-03');
  });

  it('answers again from what it remembers without mixing slots, zones or fallbacks', () => {
    const slot = new Date('2026-03-02T23:30:00Z');
    const asked = () => [
      businessDate(slot, 'Europe/Madrid', 'Europe/Lisbon'),
      businessDate(slot, 'Europe/Lisbon', 'Europe/Madrid'),
      businessDate(slot, null, 'Europe/Lisbon'),
      businessDate(slot, 'Mars/Olympus', 'Europe/Madrid'),
      businessDate(new Date('2026-03-03T23:30:00Z'), 'Europe/Madrid', 'Europe/Lisbon'),
    ];
    const expected = ['2026-03-03', '2026-03-02', '2026-03-02', '2026-03-03', '2026-03-04'];
    expect(asked()).toEqual(expected);
    expect(asked()).toEqual(expected);
  });
});
