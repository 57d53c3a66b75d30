import { Client } from 'pg';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { tokenFor } from '../utils/auth';
import { callApi } from '../utils/e2e';
import { ServiceProcess, freePort, serviceEnv } from '../utils/service-process';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';
const TOKEN = tokenFor('admin');
const DATED_OPERATIONS = [
  'forecasting.generate',
  'production.generate_schedule',
  'procurement.calculate_needs',
  'inventory.project',
  'notification.daily_summary',
];

/**
 * The engine's side of "exactly once" over real HTTP, PostgreSQL and the simulator: the
 * downstream's Idempotency-Key is the same for every attempt at a (workflow, slot,
 * tenant, step), a backfill works on each slot's business day, a permanent refusal is
 * not retried, and a run fails only when every tenant did.
 */
describeWith(['postgres'], 'engine: keys, business dates, retries and run outcome', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let service: ServiceProcess;
  let pg: Client;

  const api = (method: string, path: string, body?: unknown) =>
    callApi(service.baseUrl, TOKEN, method, path, body);

  async function waitForRun(id: string, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api('GET', `/executions/${id}`);
      if (['completed', 'failed'].includes(body.status)) return body;
      if (Date.now() > deadline)
        throw new Error(`run ${id} still ${body.status}: ${JSON.stringify(body.progress)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const setRetries = async (max_retries: number) =>
    expect(
      (await api('PUT', '/workflows/daily_operations', { max_retries, retry_delay_seconds: 0 }))
        .status,
    ).toBe(200);

  const eventOf = async (executionId: string) => {
    const { rows } = await pg.query(
      `SELECT routing_key, payload FROM orchestrator_outbox WHERE payload->>'execution_id' = $1`,
      [executionId],
    );
    return rows as { routing_key: string; payload: Record<string, unknown> }[];
  };

  /** The journal's calls of a tenant's operation, once `count` have been recorded (5 s at most). */
  async function journalOf(operation: string, tenantId: string, count: number) {
    const deadline = Date.now() + 5000;
    for (;;) {
      const calls = sim.calls({ operation, tenant_id: tenantId });
      if (calls.length >= count || Date.now() > deadline) return calls;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sim = await startSimulator({ port: 0, tenants: 12, latencyMs: 2, includeInactive: false });
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    service = new ServiceProcess(
      serviceEnv(db.url, sim.url, { PORT: freePort(), EXECUTION_POLL_MS: '100' }),
    ).start();
    await service.waitFor(`${API}/health/live`);
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await pg?.end();
    await sim?.close();
    await db?.drop();
  });

  beforeEach(() => sim.reset());

  it('backfills 4 days with 4 distinct business dates, each the slot’s local day', async () => {
    const tenants = sim.activeTenants().slice(0, 2);
    const res = await api('POST', '/workflows/daily_operations/backfill', {
      from: '2026-10-06T00:00:00Z',
      to: '2026-10-09T23:59:59Z',
      tenant_ids: tenants.map((t) => t.id),
    });
    expect(res.status).toBe(201);
    expect(res.body.started).toBe(4);
    for (const slot of res.body.slots) await waitForRun(slot.execution_id);

    const days = ['2026-10-06', '2026-10-07', '2026-10-08', '2026-10-09'];
    for (const operation of DATED_OPERATIONS) {
      const calls = sim.calls({ operation });
      expect(calls).toHaveLength(8);
      expect([...new Set(calls.map((c) => c.business_date))].sort()).toEqual(days);
    }
    // "yesterday" is the day before each slot, not before today
    expect(
      [
        ...new Set(sim.calls({ operation: 'forecasting.validate' }).map((c) => c.business_date)),
      ].sort(),
    ).toEqual(['2026-10-05', '2026-10-06', '2026-10-07', '2026-10-08']);
  });

  it('does a step whose answer was lost once, through the engine’s own retries', async () => {
    await setRetries(1);
    const victim = sim.activeTenants()[2];
    // every HTTP attempt of the first tenant attempt loses its answer with the connection:
    // 1 effect, 2 replays, all three dropped
    sim.addFault({
      operation: 'notification.daily_summary',
      tenant_id: victim.id,
      after_apply: true,
      reset: true,
      times: 3,
    });
    const started = await api('POST', '/workflows/daily_operations/execute', {
      tenant_ids: [victim.id],
      allow_concurrent: true,
    });
    expect(started.status).toBe(202);
    const run = await waitForRun(started.body.execution_id);
    expect(run.status).toBe('completed');
    expect(run.children[0]).toMatchObject({ status: 'completed', attempt: 2 });

    const calls = await journalOf('notification.daily_summary', victim.id, 4);
    expect(calls.map((c) => c.status)).toEqual([0, 0, 0, 202]);
    expect(new Set(calls.map((c) => c.idempotency_key)).size).toBe(1);
    expect(calls.filter((c) => c.effect)).toHaveLength(1);
    expect(calls[3]).toMatchObject({ status: 202, replayed: true });
  });

  it('does it once through the engine’s retries and then a manual retry, and fails a run whose every tenant failed', async () => {
    await setRetries(1);
    const victim = sim.activeTenants()[3];
    // both tenant attempts (3 HTTP attempts each) lose their answers; the manual retry gets one
    sim.addFault({
      operation: 'notification.daily_summary',
      tenant_id: victim.id,
      after_apply: true,
      status: 500,
      times: 6,
    });
    const started = await api('POST', '/workflows/daily_operations/execute', {
      tenant_ids: [victim.id],
      allow_concurrent: true,
    });
    const run = await waitForRun(started.body.execution_id);
    expect(run.status).toBe('failed');
    expect(run.children[0]).toMatchObject({ status: 'failed', attempt: 2 });
    expect((await eventOf(run.id)).map((e) => e.routing_key)).toEqual([
      'orchestrator.workflow_failed',
    ]);

    const retried = await api('POST', `/executions/${run.id}/retry`);
    expect(retried.status).toBe(202);
    expect((await waitForRun(retried.body.execution_id)).status).toBe('completed');

    const calls = await journalOf('notification.daily_summary', victim.id, 7);
    expect(calls.map((c) => c.status)).toEqual([500, 500, 500, 500, 500, 500, 202]);
    expect(new Set(calls.map((c) => c.idempotency_key)).size).toBe(1);
    expect(calls.filter((c) => c.effect)).toHaveLength(1);
    expect(calls[6]).toMatchObject({ status: 202, replayed: true });
    // the steps that had completed were not called again by the retry
    expect(sim.calls({ operation: 'forecasting.generate', tenant_id: victim.id })).toHaveLength(1);
  });

  it('fails a tenant on a permanent 400 after 1 call, and completes the run with steps_failed', async () => {
    await setRetries(3);
    const [victim, other] = sim.activeTenants().slice(4, 6);
    sim.addFault({
      operation: 'production.generate_schedule',
      tenant_id: victim.id,
      status: 400,
      body: { error: { code: 'VALIDATION_ERROR', message: 'unknown product', field: 'tenant_id' } },
    });
    const started = await api('POST', '/workflows/daily_operations/execute', {
      tenant_ids: [victim.id, other.id],
      allow_concurrent: true,
    });
    const run = await waitForRun(started.body.execution_id);

    expect(run.status).toBe('completed');
    expect(run.steps_failed).toBeGreaterThan(0);
    expect(run.result_summary).toMatchObject({ tenants_failed: 1, tenants_succeeded: 1 });
    const failed = run.children.find((c: { tenant_id: string }) => c.tenant_id === victim.id);
    expect(failed).toMatchObject({ status: 'failed', attempt: 1, next_attempt_at: null });
    expect(failed.error_message).toContain('answered 400');
    expect(failed.error_message).toContain('not retried');
    expect(
      sim.calls({ operation: 'production.generate_schedule', tenant_id: victim.id }),
    ).toHaveLength(1);

    const [event] = await eventOf(run.id);
    expect(event.routing_key).toBe('orchestrator.workflow_completed');
    expect(event.payload).toMatchObject({
      event_type: 'orchestrator_workflow_completed',
      tenants_processed: 2,
      steps_failed: run.steps_failed,
      tenants_failed: 1,
    });
  });
});
