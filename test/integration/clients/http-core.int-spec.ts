import { Registry } from 'prom-client';
import { ClientMetrics } from 'src/clients/http/client-metrics';
import { CallSpec, HttpCore, HttpCoreSettings } from 'src/clients/http/http-core';
import { UpstreamError, UpstreamErrorCode } from 'src/clients/http/upstream.error';
import { RunningSimulator, startSimulator } from 'tools/simulator';

/**
 * The HTTP core over real HTTP against the simulator: every resilience behaviour the
 * issue lists, observed from both sides (the error the caller gets, and the simulator's
 * journal of what actually reached the service).
 */
describe('HttpCore against the simulator', () => {
  let sim: RunningSimulator;
  let tenantId: string;
  const cores: HttpCore[] = [];

  const makeCore = (overrides: Partial<HttpCoreSettings> = {}) => {
    const registry = new Registry();
    const core = new HttpCore({
      token: 'test-service-token',
      services: ['forecasting', 'production', 'procurement', 'inventory'].map((name) => ({
        name,
        baseUrl: sim.url,
      })),
      metrics: new ClientMetrics(registry),
      backoff: { initialDelayMs: 20, maxDelayMs: 100, multiplier: 2 },
      ...overrides,
    });
    cores.push(core);
    return Object.assign(core, { registry });
  };

  const generate = (extra: Partial<CallSpec> = {}): CallSpec => ({
    service: 'forecasting',
    operation: 'forecasting.generate',
    method: 'POST',
    path: '/api/v1/forecasting/generate',
    body: { tenant_id: tenantId, days_ahead: 7 },
    idempotencyKey: 'exec-1:generate_forecasts',
    ...extra,
  });

  const failure = async (promise: Promise<unknown>): Promise<UpstreamError> => {
    try {
      await promise;
    } catch (err) {
      expect(err).toBeInstanceOf(UpstreamError);
      return err as UpstreamError;
    }
    throw new Error('expected the call to fail');
  };

  beforeAll(async () => {
    sim = await startSimulator({ tenants: 20, seed: 5 });
    tenantId = sim.activeTenants()[0].id;
  });
  afterEach(async () => {
    await Promise.all(cores.splice(0).map((c) => c.close()));
    sim.reset();
    sim.setConfig({ latency_ms: 0 });
  });
  afterAll(() => sim.close());

  it('retries a 503 and succeeds, with the same idempotency key and request id on every attempt', async () => {
    const core = makeCore();
    sim.addFault({ operation: 'forecasting.generate', status: 503, times: 2 });
    const result = await core.call<{ count: number }>(generate({ maxAttempts: 3 }));
    expect(result.count).toBeGreaterThan(0);
    const calls = sim.calls({ operation: 'forecasting.generate' });
    expect(calls.map((c) => c.status)).toEqual([503, 503, 200]);
    expect(new Set(calls.map((c) => c.idempotency_key))).toEqual(
      new Set(['exec-1:generate_forecasts']),
    );
    expect(new Set(calls.map((c) => c.request_id)).size).toBe(1);
  });

  it('does not retry a 400, and says so', async () => {
    const core = makeCore();
    const err = await failure(
      core.call(generate({ body: { tenant_id: tenantId, days_ahead: 'seven' } })),
    );
    expect(err).toEqual(
      expect.objectContaining({
        code: UpstreamErrorCode.HTTP_ERROR,
        status: 400,
        retryable: false,
        attempts: 1,
      }),
    );
    expect(err.bodyExcerpt).toContain('days_ahead');
    expect(sim.calls({ operation: 'forecasting.generate' })).toHaveLength(1);
  });

  it('gives up after maxAttempts retryable failures', async () => {
    const core = makeCore();
    sim.addFault({ operation: 'forecasting.generate', status: 500 });
    const err = await failure(core.call(generate({ maxAttempts: 4 })));
    expect(err).toEqual(expect.objectContaining({ status: 500, retryable: true, attempts: 4 }));
    expect(sim.calls({ operation: 'forecasting.generate' })).toHaveLength(4);
  });

  it('waits longer before each retry, never more than the cap (journal timing)', async () => {
    // random() near 1: every delay sits at its ceiling, so the gaps are predictable
    const core = makeCore({
      backoff: { initialDelayMs: 60, maxDelayMs: 200, multiplier: 2 },
      random: () => 0.999,
    });
    sim.addFault({ operation: 'forecasting.generate', status: 503, times: 5 });
    await core.call(generate({ maxAttempts: 6 }));
    const at = sim.calls({ operation: 'forecasting.generate' }).map((c) => Date.parse(c.at));
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    const ceilings = [60, 120, 200, 200, 200];
    expect(gaps).toHaveLength(5);
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(ceilings[i] - 5);
      expect(gap).toBeLessThan(ceilings[i] + 80);
    });
    expect(gaps[1]).toBeGreaterThan(gaps[0]);
    expect(gaps[2]).toBeGreaterThan(gaps[1]);
  });

  it('cuts a slow call at its per-attempt timeout', async () => {
    const core = makeCore();
    sim.addFault({ operation: 'forecasting.generate', latency_ms: 5000 });
    const started = Date.now();
    const err = await failure(core.call(generate({ timeoutMs: 300, maxAttempts: 1 })));
    const elapsed = Date.now() - started;
    expect(err.code).toBe(UpstreamErrorCode.TIMEOUT);
    expect(err.retryable).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1000);
  });

  it('cuts a hung call at a long (seconds) timeout too', async () => {
    const core = makeCore();
    sim.addFault({ operation: 'forecasting.generate', hang: true });
    const started = Date.now();
    const err = await failure(core.call(generate({ timeoutMs: 2500, maxAttempts: 1 })));
    const elapsed = Date.now() - started;
    expect(err.code).toBe(UpstreamErrorCode.TIMEOUT);
    // undici's coarse timers: within about a second of the asked timeout
    expect(elapsed).toBeGreaterThanOrEqual(2400);
    expect(elapsed).toBeLessThan(4000);
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.calls({ operation: 'forecasting.generate' })[0].status).toBe(0);
  });

  it('honours Retry-After instead of its own backoff', async () => {
    const core = makeCore({ backoff: { initialDelayMs: 1, maxDelayMs: 5, multiplier: 2 } });
    sim.addFault({ operation: 'forecasting.generate', status: 429, retry_after: 1, times: 1 });
    await core.call(generate({ maxAttempts: 2 }));
    const [first, second] = sim
      .calls({ operation: 'forecasting.generate' })
      .map((c) => Date.parse(c.at));
    expect(second - first).toBeGreaterThanOrEqual(990);
    expect(second - first).toBeLessThan(1500);
  });

  it('does not wait out a Retry-After longer than it allows, nor one past the deadline', async () => {
    const core = makeCore({ maxRetryAfterMs: 5000 });
    sim.addFault({ operation: 'forecasting.generate', status: 503, retry_after: 120, times: 1 });
    const started = Date.now();
    const err = await failure(core.call(generate({ maxAttempts: 3 })));
    expect(err).toEqual(
      expect.objectContaining({ status: 503, retryable: true, retryAfterMs: 120_000 }),
    );
    sim.addFault({ operation: 'forecasting.generate', status: 503, retry_after: 2, times: 1 });
    const err2 = await failure(core.call(generate({ maxAttempts: 3, deadlineMs: 1000 })));
    expect(err2.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(500);
    expect(sim.calls({ operation: 'forecasting.generate' })).toHaveLength(2);
  });

  it('stops retrying at the overall deadline', async () => {
    const core = makeCore({
      backoff: { initialDelayMs: 150, maxDelayMs: 150, multiplier: 1 },
      random: () => 0.999,
    });
    sim.addFault({ operation: 'forecasting.generate', status: 503 });
    const started = Date.now();
    const err = await failure(core.call(generate({ maxAttempts: 10, deadlineMs: 500 })));
    expect(err.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(550);
    expect(sim.calls({ operation: 'forecasting.generate' }).length).toBeLessThanOrEqual(4);
  });

  it('opens the breaker under a hard outage, fails fast, and closes after a successful probe', async () => {
    const core = makeCore({
      breaker: { failureRatio: 0.5, samplingMs: 5000, minimumCalls: 4, halfOpenAfterMs: 400 },
    });
    const plan = (): CallSpec => ({
      service: 'production',
      operation: 'production.generate_schedule',
      method: 'POST',
      path: '/api/v1/production/schedules/generate',
      body: { tenant_id: tenantId },
      maxAttempts: 1,
    });
    sim.addFault({ service: 'production', status: 503 });
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) codes.push((await failure(core.call(plan()))).code);
    expect(codes.slice(0, 4)).toEqual(new Array(4).fill(UpstreamErrorCode.HTTP_ERROR));
    expect(codes.slice(4)).toEqual(new Array(4).fill(UpstreamErrorCode.CIRCUIT_OPEN));
    expect(core.breakerState('production')).toBe('open');
    // refused calls never reached the service
    expect(sim.calls({ service: 'production' })).toHaveLength(4);
    const t = Date.now();
    await failure(core.call(plan()));
    expect(Date.now() - t).toBeLessThan(20);
    // other services are not affected
    await expect(core.call(generate())).resolves.toEqual(
      expect.objectContaining({ count: expect.any(Number) }),
    );

    sim.clearFaults();
    await new Promise((r) => setTimeout(r, 450));
    // half-open: the first call is the probe; while it is out, others fail fast
    sim.addFault({ service: 'production', latency_ms: 200, times: 1 });
    const probe = core.call(plan());
    await new Promise((r) => setTimeout(r, 20));
    expect(core.breakerState('production')).toBe('half-open');
    expect((await failure(core.call(plan()))).code).toBe(UpstreamErrorCode.CIRCUIT_OPEN);
    await expect(probe).resolves.toEqual(expect.objectContaining({ batches: expect.any(Number) }));
    expect(core.breakerState('production')).toBe('closed');
    await expect(core.call(plan())).resolves.toEqual(
      expect.objectContaining({ batches: expect.any(Number) }),
    );

    const gauge = await core.registry.getSingleMetricAsString(
      'orchestrator_downstream_circuit_state',
    );
    expect(gauge).toContain('orchestrator_downstream_circuit_state{service="production"} 0');
    const requests = await core.registry.getSingleMetricAsString(
      'orchestrator_downstream_requests_total',
    );
    expect(requests).toContain(
      'orchestrator_downstream_requests_total{service="production",operation="production.generate_schedule",outcome="circuit_open"} 6',
    );
  });

  it('does not count 4xx answers towards opening the breaker', async () => {
    const core = makeCore({
      breaker: { failureRatio: 0.5, samplingMs: 5000, minimumCalls: 2, halfOpenAfterMs: 60_000 },
    });
    for (let i = 0; i < 6; i++) {
      await failure(core.call(generate({ body: { tenant_id: 'no-such-tenant', days_ahead: 7 } })));
    }
    expect(core.breakerState('forecasting')).toBe('closed');
  });

  it('holds the per-service concurrency limit under 500 concurrent calls', async () => {
    const core = makeCore({
      services: [{ name: 'forecasting', baseUrl: sim.url, maxConcurrency: 20 }],
    });
    sim.setConfig({ latency_ms: 10 });
    const tenants = sim.activeTenants();
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        core.call(
          generate({
            body: { tenant_id: tenants[i % tenants.length].id, days_ahead: 7 },
            idempotencyKey: `exec-${i}:generate_forecasts`,
          }),
        ),
      ),
    );
    expect(results).toHaveLength(500);
    expect(sim.stats().max_in_flight.forecasting).toBe(20);
    expect(core.concurrency('forecasting')).toEqual({
      inUse: 0,
      waiting: 0,
      maxInUse: 20,
      limit: 20,
    });
    expect(sim.calls({ operation: 'forecasting.generate', status: 200 })).toHaveLength(500);
  });

  it('cancels an in-flight call when the caller aborts', async () => {
    const core = makeCore();
    sim.addFault({ operation: 'forecasting.generate', hang: true });
    const controller = new AbortController();
    const started = Date.now();
    const pending = core.call(generate({ signal: controller.signal, timeoutMs: 60_000 }));
    setTimeout(() => controller.abort(), 100);
    const err = await failure(pending);
    expect(err.code).toBe(UpstreamErrorCode.ABORTED);
    expect(err.retryable).toBe(false);
    expect(Date.now() - started).toBeLessThan(400);
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.stats().in_flight.forecasting).toBe(0);
    expect(sim.calls({ operation: 'forecasting.generate' }).map((c) => c.status)).toEqual([0]);
  });

  it('cancels every call in flight under a shared signal, and only those', async () => {
    const core = makeCore();
    sim.addFault({ service: 'forecasting', hang: true });
    sim.addFault({ service: 'inventory', hang: true });
    const controller = new AbortController();
    const signal = controller.signal;
    // joined in this order; the middle one (production) answers and leaves first
    const first = core.call(generate({ signal, timeoutMs: 60_000 }));
    const middle = core.call({
      service: 'production',
      operation: 'production.generate_schedule',
      method: 'POST',
      path: '/api/v1/production/schedules/generate',
      body: { tenant_id: tenantId },
      signal,
    });
    const last = core.call({
      service: 'inventory',
      operation: 'inventory.project',
      method: 'POST',
      path: '/api/v1/inventory/projections/generate',
      body: { tenant_id: tenantId, days_ahead: 7 },
      signal,
      timeoutMs: 60_000,
    });
    await expect(middle).resolves.toEqual(expect.any(Object));
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.stats().in_flight).toEqual(
      expect.objectContaining({ forecasting: 1, inventory: 1 }),
    );

    const aborted = Date.now();
    controller.abort();
    expect((await failure(first)).code).toBe(UpstreamErrorCode.ABORTED);
    expect((await failure(last)).code).toBe(UpstreamErrorCode.ABORTED);
    // cut by the abort itself, not by their 60 s timeouts
    expect(Date.now() - aborted).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.stats().in_flight).toEqual(
      expect.objectContaining({ forecasting: 0, inventory: 0 }),
    );
    // a later call under the spent signal never reaches the service
    expect((await failure(core.call(generate({ signal })))).code).toBe(UpstreamErrorCode.ABORTED);
    expect(sim.calls({ service: 'forecasting' })).toHaveLength(1);
    // a call under another signal is not touched by the first one's abort
    sim.reset();
    await expect(core.call(generate({ signal: new AbortController().signal }))).resolves.toEqual(
      expect.objectContaining({ count: expect.any(Number) }),
    );
  });

  it('cancels a call waiting for a slot, and one sleeping before its retry', async () => {
    const core = makeCore({
      services: [{ name: 'forecasting', baseUrl: sim.url, maxConcurrency: 1 }],
      backoff: { initialDelayMs: 5000, maxDelayMs: 5000, multiplier: 1 },
      random: () => 0.999,
    });
    sim.addFault({ operation: 'forecasting.generate', latency_ms: 300, times: 1 });
    const blocker = core.call(generate());
    const controller = new AbortController();
    const queued = core.call(generate({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    expect((await failure(queued)).code).toBe(UpstreamErrorCode.ABORTED);
    await blocker;

    sim.addFault({ operation: 'forecasting.generate', status: 503, times: 1 });
    const sleeper = new AbortController();
    const started = Date.now();
    const retrying = core.call(generate({ signal: sleeper.signal }));
    setTimeout(() => sleeper.abort(), 100);
    expect((await failure(retrying)).code).toBe(UpstreamErrorCode.ABORTED);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('retries connection errors (reset by the service, nothing listening)', async () => {
    const core = makeCore();
    sim.addFault({ operation: 'forecasting.generate', reset: true, times: 1 });
    await expect(core.call(generate())).resolves.toEqual(
      expect.objectContaining({ count: expect.any(Number) }),
    );

    const dead = makeCore({ services: [{ name: 'forecasting', baseUrl: 'http://127.0.0.1:9' }] });
    const err = await failure(dead.call(generate({ maxAttempts: 2 })));
    expect(err).toEqual(
      expect.objectContaining({
        code: UpstreamErrorCode.CONNECTION_ERROR,
        retryable: true,
        attempts: 2,
      }),
    );
  });

  it('sends the service token and never puts it in an error', async () => {
    const strict = await startSimulator({ tenants: 3, token: 'the-right-token' });
    try {
      const wrong = new HttpCore({
        token: 'a-wrong-token',
        services: [{ name: 'forecasting', baseUrl: strict.url }],
        metrics: null,
      });
      cores.push(wrong);
      const err = await failure(
        wrong.call(generate({ body: { tenant_id: strict.activeTenants()[0].id, days_ahead: 7 } })),
      );
      expect(err).toEqual(expect.objectContaining({ status: 401, retryable: false }));
      expect(JSON.stringify(err.toJSON()) + err.message + err.stack).not.toContain('a-wrong-token');

      const right = new HttpCore({
        token: 'the-right-token',
        services: [{ name: 'forecasting', baseUrl: strict.url }],
        metrics: null,
      });
      cores.push(right);
      await expect(
        right.call(generate({ body: { tenant_id: strict.activeTenants()[0].id, days_ahead: 7 } })),
      ).resolves.toEqual(expect.objectContaining({ count: expect.any(Number) }));

      // a service that echoes the token back in its error body
      strict.addFault({ status: 500, body: { echo: 'Authorization: Bearer the-right-token' } });
      const echoed = await failure(
        right.call(
          generate({
            maxAttempts: 1,
            body: { tenant_id: strict.activeTenants()[0].id, days_ahead: 7 },
          }),
        ),
      );
      expect(echoed.bodyExcerpt).toContain('[redacted]');
      expect(JSON.stringify(echoed.toJSON())).not.toContain('the-right-token');
    } finally {
      await strict.close();
    }
  });

  it('records duration and count by service, operation and outcome', async () => {
    const core = makeCore();
    sim.addFault({ operation: 'forecasting.generate', status: 503, times: 1 });
    await core.call(generate());
    const text = await core.registry.metrics();
    expect(text).toContain(
      'orchestrator_downstream_request_duration_seconds_count{service="forecasting",operation="forecasting.generate",outcome="success"} 1',
    );
    expect(text).toContain(
      'orchestrator_downstream_requests_total{service="forecasting",operation="forecasting.generate",outcome="server_error"} 1',
    );
    expect(text).toContain(
      'orchestrator_downstream_retries_total{service="forecasting",operation="forecasting.generate"} 1',
    );
    expect(text).toContain('orchestrator_downstream_in_flight{service="forecasting"} 0');
  });
});
