import { FaultStore, parseFault } from './faults';
import { mulberry32 } from './prng';

describe('FaultStore', () => {
  const now = new Date('2025-11-26T08:00:00Z');

  it('applies a fault to the next N matching calls, then lets calls through', () => {
    const store = new FaultStore(mulberry32(1));
    store.add({ service: 'forecasting', status: 503, times: 2 }, now);
    expect(store.take('forecasting', 'forecasting.generate', 't1')?.status).toBe(503);
    expect(store.take('production', 'production.generate_schedule', 't1')).toBeUndefined();
    expect(store.take('forecasting', 'forecasting.validate', 't2')?.status).toBe(503);
    expect(store.take('forecasting', 'forecasting.generate', 't1')).toBeUndefined();
    expect(store.list()).toEqual([]);
  });

  it('keeps after_apply faults for after the work, and the others for before it', () => {
    const store = new FaultStore(mulberry32(1));
    store.add({ operation: 'notification.daily_summary', after_apply: true, reset: true }, now);
    expect(store.take('notification', 'notification.daily_summary', 't1')).toBeUndefined();
    expect(store.take('notification', 'notification.daily_summary', 't1', true)?.reset).toBe(true);
    store.add({ operation: 'notification.daily_summary', status: 503, times: 1 }, now);
    expect(store.take('notification', 'notification.daily_summary', 't1', true)?.reset).toBe(true);
    expect(store.take('notification', 'notification.daily_summary', 't1')?.status).toBe(503);
  });

  it('matches by operation and tenant, newest first', () => {
    const store = new FaultStore(mulberry32(1));
    store.add({ operation: 'forecasting.generate', status: 500 }, now);
    store.add(
      { operation: 'forecasting.generate', tenant_id: 't9', status: 429, retry_after: 1 },
      now,
    );
    expect(store.take('forecasting', 'forecasting.generate', 't9')?.status).toBe(429);
    expect(store.take('forecasting', 'forecasting.generate', 't1')?.status).toBe(500);
    expect(store.take('forecasting', 'forecasting.validate', 't9')).toBeUndefined();
  });

  it('applies a probabilistic fault to roughly that share of calls', () => {
    const store = new FaultStore(mulberry32(99));
    store.add({ status: 503, probability: 0.3 }, now);
    let hits = 0;
    for (let i = 0; i < 2000; i++) if (store.take('x', 'x.y', undefined)) hits++;
    expect(hits).toBeGreaterThan(500);
    expect(hits).toBeLessThan(700);
  });
});

describe('parseFault', () => {
  it.each([
    [{ status: 99 }, 'status'],
    [{ status: 503, times: 0 }, 'times'],
    [{ status: 503, probability: 2 }, 'probability'],
    [{ status: 503, colour: 'red' }, 'colour'],
    [{ service: 'forecasting' }, 'status'],
    [{ latency_ms: -1 }, 'latency_ms'],
    [{ hang: 'yes' }, 'hang'],
  ])('refuses %j naming %s', (input, field) => {
    expect(() => parseFault(input)).toThrow(expect.objectContaining({ field }));
  });

  it('accepts a full fault', () => {
    const spec = {
      service: 's',
      operation: 'o',
      tenant_id: 't',
      status: 503,
      retry_after: 2,
      times: 1,
      latency_ms: 5,
    };
    expect(parseFault(spec)).toEqual(spec);
  });
});
