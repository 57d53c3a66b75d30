import { RunningSimulator, SIMULATOR_NAME, startSimulator } from 'tools/simulator';

const AUTH = { Authorization: 'Bearer test-token', 'Content-Type': 'application/json' };

describe('bakery platform simulator over HTTP', () => {
  let sim: RunningSimulator;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = AUTH,
  ) => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
  };

  beforeAll(async () => {
    sim = await startSimulator({ tenants: 60, seed: 11, anchor: '2025-11-26T14:30:00Z' });
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.reset());

  it('names itself in a header and on its health route', async () => {
    const res = await call('GET', '/__sim/health');
    expect(res.headers.get('x-simulator')).toBe(SIMULATOR_NAME);
    expect(res.body).toEqual(expect.objectContaining({ simulator: SIMULATOR_NAME, tenants: 60 }));
  });

  it('pages through active tenants in id order', async () => {
    const seen: string[] = [];
    let page: number | null = 1;
    while (page !== null) {
      const res = await call('GET', `/api/v1/tenants?status=active&page=${page}&page_size=7`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((t: { id: string; status: string }) => t.id));
      expect(res.body.items.every((t: { status: string }) => t.status === 'active')).toBe(true);
      page = res.body.next_page;
    }
    expect(seen).toEqual(
      sim
        .activeTenants()
        .map((t) => t.id)
        .sort(),
    );
    expect(seen.length).toBeLessThan(60);
  });

  it('refuses a call without a token (401) and bad input (400 naming the field)', async () => {
    const tenant = sim.activeTenants()[0];
    const noToken = await call(
      'POST',
      '/api/v1/forecasting/generate',
      { tenant_id: tenant.id, days_ahead: 7 },
      {
        'Content-Type': 'application/json',
      },
    );
    expect(noToken.status).toBe(401);
    const bad = await call('POST', '/api/v1/forecasting/generate', {
      tenant_id: tenant.id,
      days_ahead: 'seven',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('days_ahead');
  });

  it('answers 409 for a suspended tenant on work routes', async () => {
    const suspended = sim.tenants().find((t) => t.status === 'suspended')!;
    const res = await call('POST', '/api/v1/production/schedules/generate', {
      tenant_id: suspended.id,
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('TENANT_NOT_ACTIVE');
  });

  it('serves each documented work route with a plausible body', async () => {
    const t = sim.activeTenants()[1].id;
    const runId = '5d0e7c35-7d8c-4b6e-9d54-2b1f0f0f0f0f';
    const cases: Array<[string, unknown, number, Record<string, unknown>]> = [
      [
        '/api/v1/forecasting/generate',
        { tenant_id: t, days_ahead: 7 },
        200,
        { count: expect.any(Number) },
      ],
      [
        '/api/v1/forecasting/validate',
        { tenant_id: t, orchestration_run_id: runId },
        200,
        { overall_mape: expect.any(Number), coverage_percentage: expect.any(Number) },
      ],
      [
        '/api/v1/forecasting/retraining/evaluate',
        { tenant_id: t, auto_trigger: false },
        200,
        { retraining_triggered: false },
      ],
      [
        '/api/v1/production/schedules/generate',
        { tenant_id: t },
        200,
        { batches: expect.any(Number) },
      ],
      [
        '/api/v1/procurement/needs/calculate',
        { tenant_id: t, days_ahead: 14 },
        200,
        { needs_count: expect.any(Number) },
      ],
      [
        '/api/v1/inventory/projections/generate',
        { tenant_id: t, days_ahead: 14 },
        200,
        { items_projected: expect.any(Number) },
      ],
      [
        '/api/v1/notifications/daily-summary',
        { tenant_id: t, orchestration_run_id: runId, summary: {} },
        202,
        { type: 'daily_summary' },
      ],
      [
        '/api/v1/notifications/weekly-digest',
        { tenant_id: t, orchestration_run_id: runId },
        202,
        { type: 'weekly_digest' },
      ],
      [
        '/api/v1/notifications/workflow-failure',
        { tenant_id: null, workflow_name: 'daily_operations', error_message: 'x' },
        202,
        { type: 'workflow_failure' },
      ],
      [
        '/api/v1/training/jobs/retrain',
        { tenant_id: t, product_ids: ['p1'] },
        202,
        { status: 'queued' },
      ],
      [
        '/api/v1/alerts/archive-resolved',
        { tenant_id: t, older_than_days: 30 },
        200,
        { archived_count: expect.any(Number) },
      ],
    ];
    for (const [path, body, status, shape] of cases) {
      const res = await call('POST', path, body);
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(res.body).toEqual(expect.objectContaining(shape));
    }
  });

  it('lists deliveries to track: approved/sent before a bound, including past due', async () => {
    const t = sim.activeTenants()[2].id;
    const before = new Date(Date.parse('2025-11-26T14:30:00Z') + 48 * 3_600_000).toISOString();
    const res = await call(
      'GET',
      `/api/v1/procurement/purchase-orders?tenant_id=${t}&status=approved,sent&delivery_before=${before}`,
    );
    expect(res.status).toBe(200);
    const cases = sim.purchaseOrders(t);
    const expected = cases
      .filter((p) => p.sim_case !== 'far_future' && p.sim_case !== 'received')
      .map((p) => p.id);
    expect(res.body.items.map((p: { id: string }) => p.id).sort()).toEqual(expected.sort());
  });

  it('journals every call, injects faults for the next N calls and replays idempotent answers', async () => {
    const t = sim.activeTenants()[3].id;
    const fault = await call('POST', '/__sim/faults', {
      operation: 'production.generate_schedule',
      status: 503,
      retry_after: 1,
      times: 1,
    });
    expect(fault.status).toBe(201);
    const headers = { ...AUTH, 'Idempotency-Key': 'exec-1:plan' };
    const first = await call(
      'POST',
      '/api/v1/production/schedules/generate',
      { tenant_id: t },
      headers,
    );
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('1');
    const second = await call(
      'POST',
      '/api/v1/production/schedules/generate',
      { tenant_id: t },
      headers,
    );
    const third = await call(
      'POST',
      '/api/v1/production/schedules/generate',
      { tenant_id: t },
      headers,
    );
    expect(second.status).toBe(200);
    expect(third.body).toEqual(second.body);
    expect(third.headers.get('idempotent-replayed')).toBe('true');

    const journal = await call(
      'GET',
      `/__sim/calls?operation=production.generate_schedule&tenant_id=${t}`,
    );
    expect(
      journal.body.map((c: { status: number; replayed: boolean; idempotency_key: string }) => [
        c.status,
        c.replayed,
        c.idempotency_key,
      ]),
    ).toEqual([
      [503, false, 'exec-1:plan'],
      [200, false, 'exec-1:plan'],
      [200, true, 'exec-1:plan'],
    ]);
    expect((await call('DELETE', '/__sim/calls')).status).toBe(204);
    expect((await call('GET', '/__sim/calls')).body).toEqual([]);
  });

  it('does the work then loses the answer (after_apply): one effect per key, replays after', async () => {
    const t = sim.activeTenants()[6].id;
    sim.addFault({
      operation: 'notification.daily_summary',
      after_apply: true,
      reset: true,
      times: 1,
    });
    sim.addFault({
      operation: 'notification.daily_summary',
      after_apply: true,
      status: 500,
      times: 1,
    });
    const headers = { ...AUTH, 'Idempotency-Key': 'orc1-lost' };
    const body = {
      tenant_id: t,
      orchestration_run_id: 'run-1',
      date: '2026-10-06',
      summary: {},
    };
    const path = '/api/v1/notifications/daily-summary';
    // the newest fault first: a 500 replaces the answer of the work just done
    expect((await call('POST', path, body, headers)).status).toBe(500);
    // then the replay's answer is lost with the connection
    await expect(call('POST', path, body, headers)).rejects.toThrow();
    const third = await call('POST', path, body, headers);
    expect(third.status).toBe(202);
    expect(third.headers.get('idempotent-replayed')).toBe('true');

    await new Promise((r) => setTimeout(r, 50));
    const journal = sim.calls({ idempotency_key: 'orc1-lost' });
    expect(journal.map((c) => [c.status, c.effect, c.replayed, c.business_date])).toEqual([
      [500, true, false, '2026-10-06'],
      [0, false, true, '2026-10-06'],
      [202, false, true, '2026-10-06'],
    ]);
  });

  it('refuses an after_apply fault that does not say what replaces the answer', async () => {
    const res = await call('POST', '/__sim/faults', { after_apply: true, latency_ms: 10 });
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('after_apply');
  });

  it("does a dated operation's work for the business day it names", async () => {
    const t = sim.activeTenants()[7].id;
    const res = await call('POST', '/api/v1/forecasting/generate', {
      tenant_id: t,
      days_ahead: 7,
      target_date: '2026-10-06',
    });
    expect(res.body).toMatchObject({ start_date: '2026-10-07', end_date: '2026-10-13' });
    const inventory = await call('POST', '/api/v1/inventory/projections/generate', {
      tenant_id: t,
      days_ahead: 14,
      start_date: '2026-10-06',
    });
    expect(inventory.body.start_date).toBe('2026-10-06');
    expect(sim.calls({ tenant_id: t }).map((c) => c.business_date)).toEqual([
      '2026-10-06',
      '2026-10-06',
    ]);
  });

  it('resets the connection or hangs when told to, journalling status 0', async () => {
    const t = sim.activeTenants()[4].id;
    sim.addFault({ operation: 'inventory.project', reset: true, times: 1 });
    await expect(
      call('POST', '/api/v1/inventory/projections/generate', { tenant_id: t, days_ahead: 14 }),
    ).rejects.toThrow();
    sim.addFault({ operation: 'inventory.project', hang: true, times: 1 });
    await expect(
      fetch(`${sim.url}/api/v1/inventory/projections/generate`, {
        method: 'POST',
        headers: AUTH,
        body: JSON.stringify({ tenant_id: t, days_ahead: 14 }),
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.calls({ operation: 'inventory.project' }).map((c) => c.status)).toEqual([0, 0]);
    expect(sim.stats().in_flight.inventory).toBe(0);
  });

  it('moves purchase-order windows with the clock anchor', async () => {
    const t = sim.activeTenants()[5].id;
    const before = sim.purchaseOrders(t).find((p) => p.sim_case === 'overdue')!;
    const res = await call('PUT', '/__sim/clock', { anchor: '2025-11-27T14:30:00Z' });
    expect(res.body.anchor).toBe('2025-11-27T14:30:00.000Z');
    const after = sim.purchaseOrders(t).find((p) => p.id === before.id)!;
    expect(Date.parse(after.delivery_window.end) - Date.parse(before.delivery_window.end)).toBe(
      86_400_000,
    );
    sim.setAnchor(new Date('2025-11-26T14:30:00Z'));
  });

  it('changes a tenant status through the control API', async () => {
    const t = sim.activeTenants()[6];
    const res = await call('PATCH', `/__sim/tenants/${t.id}`, { status: 'suspended' });
    expect(res.body.status).toBe('suspended');
    expect(sim.activeTenants().map((x) => x.id)).not.toContain(t.id);
    await call('PATCH', `/__sim/tenants/${t.id}`, { status: 'active' });
  });
});
