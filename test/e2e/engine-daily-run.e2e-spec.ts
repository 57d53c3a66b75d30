import { Client } from 'pg';
import { serviceUrls } from 'src/config/env.schema';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { authEnv, tokenFor } from '../utils/auth';
import { callApi } from '../utils/e2e';
import { QueueSpy } from '../utils/rabbit';
import { ServiceProcess, freePort } from '../utils/service-process';
import { SERVICES, describeWith } from '../utils/services';
import { TcpProxy } from '../utils/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';
const TOKEN = tokenFor('admin');
const DAILY_DEPS: Record<string, string[]> = {
  'forecasting.generate': [],
  'production.generate_schedule': ['forecasting.generate'],
  'procurement.calculate_needs': ['production.generate_schedule'],
  'inventory.project': ['procurement.calculate_needs'],
  'forecasting.validate': ['forecasting.generate'],
  'notification.daily_summary': ['inventory.project', 'forecasting.validate'],
};
const DAILY_OPS = Object.keys(DAILY_DEPS);

const api = (service: ServiceProcess, method: string, path: string, body?: unknown) =>
  callApi(service.baseUrl, TOKEN, method, path, body);

async function waitForRun(service: ServiceProcess, id: string, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api(service, 'GET', `/executions/${id}`);
    if (['completed', 'failed'].includes(body.status)) return body;
    if (Date.now() > deadline)
      throw new Error(`run ${id} still ${body.status}: ${JSON.stringify(body.progress)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** executed_by_instance of each tenant execution of a run, by tenant. */
async function executedBy(dbUrl: string, runId: string): Promise<Map<string, string | null>> {
  const sql = new Client({ connectionString: dbUrl });
  await sql.connect();
  try {
    const { rows } = await sql.query<{ tenant_id: string; executed_by_instance: string | null }>(
      `SELECT tenant_id, executed_by_instance FROM orchestrator_executions
        WHERE parent_execution_id = $1`,
      [runId],
    );
    return new Map(rows.map((r) => [r.tenant_id, r.executed_by_instance]));
  } finally {
    await sql.end();
  }
}

describeWith(['postgres', 'rabbitmq'], 'daily run over HTTP against the simulator', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let rabbitProxy: TcpProxy;
  let spy: QueueSpy;
  const services: ServiceProcess[] = [];

  const startService = async (extra: Record<string, string> = {}) => {
    const service = new ServiceProcess({
      PORT: freePort(),
      DATABASE_URL: db.url,
      RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${rabbitProxy.port}`,
      ENABLE_LEADER_ELECTION: 'false',
      DELIVERY_TRACKING_IN_PROCESS: 'false',
      ...authEnv(),
      EXECUTION_LEASE_SECONDS: '3',
      EXECUTION_POLL_MS: '200',
      // few tenants in flight, so a killed runner dies in the middle of its tenants' work
      EXECUTION_CONCURRENCY: '10',
      ...serviceUrls(sim.url),
      ...extra,
    }).start();
    services.push(service);
    await service.waitFor(`${API}/health/live`);
    return service;
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sim = await startSimulator({ port: 0, tenants: 50, latencyMs: 5 });
    rabbitProxy = new TcpProxy(SERVICES.rabbitmq.host, SERVICES.rabbitmq.port);
    await rabbitProxy.start();
    spy = await QueueSpy.bind('orchestrator', 'orchestrator.#');
    await startService();
  });

  afterAll(async () => {
    for (const s of services) await s.stop('SIGKILL');
    await spy?.close();
    await rabbitProxy?.cut();
    await sim?.close();
    await db?.drop();
  });

  beforeEach(() => sim.reset());

  it('calls each (tenant, step) exactly once and in dependency order, and publishes the completed event', async () => {
    const service = services[0];
    const started = await api(service, 'POST', '/workflows/daily_operations/execute', {});
    expect(started.status).toBe(202);
    const run = await waitForRun(service, started.body.execution_id);

    const active = sim.activeTenants();
    expect(run.status).toBe('completed');
    expect(run.result_summary).toMatchObject({
      tenants_processed: active.length,
      tenants_succeeded: active.length,
    });
    const calls = sim.calls().filter((c) => DAILY_OPS.includes(c.operation));
    expect(calls).toHaveLength(active.length * DAILY_OPS.length);
    for (const tenant of active) {
      const mine = calls.filter((c) => c.tenant_id === tenant.id);
      expect(mine.map((c) => c.operation).sort()).toEqual([...DAILY_OPS].sort());
      // notifications answer 202 Accepted (docs/downstream-api.md), the rest 200
      expect(mine.every((c) => c.status === 200 || c.status === 202)).toBe(true);
      for (const call of mine) {
        for (const dep of DAILY_DEPS[call.operation]) {
          const before = mine.find((c) => c.operation === dep)!;
          expect(Date.parse(before.at) + before.duration_ms).toBeLessThanOrEqual(
            Date.parse(call.at) + 1,
          );
        }
      }
    }
    // tenants start in tier order: every enterprise tenant's first call precedes every free tenant's
    const first = (tier: string) =>
      active
        .filter((t) => t.subscription_tier === tier)
        .map((t) => calls.find((c) => c.tenant_id === t.id)!.seq);
    expect(Math.max(...first('enterprise'))).toBeLessThan(Math.max(...first('free')));

    await waitFor(() =>
      spy.messages.find((m) => m.payload.execution_id === started.body.execution_id),
    );
    const event = spy.messages.find((m) => m.payload.execution_id === started.body.execution_id)!;
    expect(event).toMatchObject({
      routingKey: 'orchestrator.workflow_completed',
      persistent: true,
      payload: {
        event_type: 'orchestrator_workflow_completed',
        workflow_name: 'daily_operations',
        tenants_processed: active.length,
        steps_completed: active.length * 6,
        steps_failed: 0,
        event_id: expect.any(String),
      },
    });
  });

  it('stamps every tenant execution with the instance id GET /leader reports for that instance', async () => {
    const service = services[0];
    const leader = await api(service, 'GET', '/leader');
    expect(leader.status).toBe(200);
    // single-instance mode: the answering instance is also the leader of record
    expect(leader.body.leader_instance_id).toBe(leader.body.instance_id);

    const started = await api(service, 'POST', '/workflows/daily_operations/execute', {
      allow_concurrent: true,
    });
    expect((await waitForRun(service, started.body.execution_id)).status).toBe('completed');

    const stamps = await executedBy(db.url, started.body.execution_id);
    expect(stamps.size).toBe(sim.activeTenants().length);
    expect(new Set(stamps.values())).toEqual(new Set([leader.body.instance_id]));
  });

  it('retries a tenant whose service keeps failing, marks it failed, completes the run, and retries only what failed', async () => {
    const service = services[0];
    const victim = sim.activeTenants()[7];
    expect(
      (
        await api(service, 'PUT', '/workflows/daily_operations', {
          max_retries: 1,
          retry_delay_seconds: 0,
        })
      ).status,
    ).toBe(200);
    const fault = sim.addFault({ service: 'procurement', tenant_id: victim.id, status: 500 });
    const started = await api(service, 'POST', '/workflows/daily_operations/execute', {});
    const run = await waitForRun(service, started.body.execution_id);

    // the seed's semantics: the run completes, counting the failed tenant's step
    expect(run.status).toBe('completed');
    expect(run.steps_failed).toBe(1);
    expect(run.result_summary).toMatchObject({
      tenants_failed: 1,
      tenants_succeeded: sim.activeTenants().length - 1,
    });
    const completed = await waitFor(() =>
      spy.messages.find((m) => m.payload.execution_id === started.body.execution_id),
    );
    expect(completed).toMatchObject({
      routingKey: 'orchestrator.workflow_completed',
      payload: { steps_failed: 1, tenants_failed: 1 },
    });
    const victimChild = run.children.find((c: any) => c.tenant_id === victim.id);
    expect(victimChild).toMatchObject({ status: 'failed', attempt: 2 });
    expect(victimChild.steps.find((s: any) => s.name === 'calculate_procurement').status).toBe(
      'failed',
    );
    const victimCalls = sim.calls({ tenant_id: victim.id });
    expect(victimCalls.filter((c) => c.operation === 'forecasting.generate')).toHaveLength(1);
    expect(
      victimCalls.filter((c) => c.operation === 'procurement.calculate_needs').length,
    ).toBeGreaterThanOrEqual(2);
    expect(victimCalls.some((c) => c.operation === 'notification.daily_summary')).toBe(false);

    sim.clearFaults();
    void fault;
    sim.clearCalls();
    const retried = await api(service, 'POST', `/executions/${started.body.execution_id}/retry`);
    expect(retried.status).toBe(202);
    const again = await waitForRun(service, retried.body.execution_id);
    expect(again.status).toBe('completed');
    const retryCalls = sim.calls().filter((c) => DAILY_OPS.includes(c.operation));
    expect(retryCalls.map((c) => c.tenant_id)).toEqual(Array(3).fill(victim.id));
    expect(retryCalls.map((c) => c.operation).sort()).toEqual(
      ['procurement.calculate_needs', 'inventory.project', 'notification.daily_summary'].sort(),
    );
  });

  it('resumes a killed runner on another instance without repeating completed steps', async () => {
    const [first] = services;
    sim.setConfig({ latency_ms: 400 });
    const second = await startService();
    const firstId = (await api(first, 'GET', '/leader')).body.instance_id;
    const secondId = (await api(second, 'GET', '/leader')).body.instance_id;
    expect(firstId).not.toBe(secondId);
    const started = await api(first, 'POST', '/workflows/daily_operations/execute', {
      allow_concurrent: true,
    });
    await waitFor(async () => {
      const { body } = await api(first, 'GET', `/executions/${started.body.execution_id}`);
      return (body.progress.by_status.completed ?? 0) >= 5;
    });
    // let the tenants claimed after the first ones finished get a few steps done
    await new Promise((r) => setTimeout(r, 1200));
    const killedAt = Date.now();
    await first.stop('SIGKILL');
    services.splice(services.indexOf(first), 1);
    sim.setConfig({ latency_ms: 5 });
    const run = await waitForRun(second, started.body.execution_id);

    expect(run.status).toBe('completed');
    const calls = sim.calls().filter((c) => DAILY_OPS.includes(c.operation));
    const byPair = new Map<string, typeof calls>();
    for (const c of calls) {
      const key = `${c.tenant_id}|${c.operation}`;
      byPair.set(key, [...(byPair.get(key) ?? []), c]);
    }
    expect(byPair.size).toBe(sim.activeTenants().length * 6);
    const repeated = [...byPair.values()].filter((cs) => cs.length > 1);
    // only calls the dead runner had not yet recorded may be made again: with the same
    // idempotency key, so the service answers from its cache instead of redoing the work
    for (const cs of repeated) {
      expect(new Set(cs.map((c) => c.idempotency_key)).size).toBe(1);
      expect(cs.length).toBe(2);
      if (cs[0].status >= 200 && cs[0].status < 300) expect(cs[1].replayed).toBe(true);
    }
    expect(repeated.length).toBeLessThanOrEqual(50 * 4);
    // tenants the dead runner held: work before the kill, then nothing until its lease (3 s) expired
    const resumed = sim.activeTenants().filter((t) => {
      const times = calls
        .filter((c) => c.tenant_id === t.id)
        .map((c) => Date.parse(c.at))
        .sort((a, b) => a - b);
      return times.some((at, i) => at < killedAt && (times[i + 1] ?? 0) > killedAt + 2000);
    });
    expect(resumed.length).toBeGreaterThan(0);
    // steps of those tenants answered well before the kill were recorded (a group commit
    // takes milliseconds) and were not called again by the instance that resumed them
    const answeredBeforeKill = calls.filter(
      (c) =>
        resumed.some((t) => t.id === c.tenant_id) &&
        Date.parse(c.at) + c.duration_ms < killedAt - 300 &&
        c.status > 0,
    );
    expect(answeredBeforeKill.length).toBeGreaterThan(0);
    for (const done of answeredBeforeKill) {
      expect(byPair.get(`${done.tenant_id}|${done.operation}`)).toHaveLength(1);
    }
    // a resumed tenant is stamped with the id of the instance that finished it, the one
    // its GET /leader reports; the others with either instance's id, nothing else
    const stamps = await executedBy(db.url, started.body.execution_id);
    for (const t of resumed) expect(stamps.get(t.id)).toBe(secondId);
    expect([...new Set(stamps.values())].every((id) => id === firstId || id === secondId)).toBe(
      true,
    );
  });

  it('delivers events written while RabbitMQ was unreachable once it is back, none lost', async () => {
    const service = services[services.length - 1];
    await rabbitProxy.cut();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const started = await api(service, 'POST', '/workflows/weekly_digest/execute', {
        allow_concurrent: true,
      });
      ids.push(started.body.execution_id);
      await waitForRun(service, started.body.execution_id);
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(spy.messages.filter((m) => ids.includes(m.payload.execution_id))).toHaveLength(0);
    await rabbitProxy.restore();
    await waitFor(
      () => spy.messages.filter((m) => ids.includes(m.payload.execution_id)).length === 3,
      60000,
    );
    const delivered = spy.messages.filter((m) => ids.includes(m.payload.execution_id));
    expect(new Set(delivered.map((m) => m.payload.event_id)).size).toBe(3);
  });
});

async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
