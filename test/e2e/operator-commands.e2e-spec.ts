import request from 'supertest';
import { FakeClock } from '../fakes/fake-clock';
import { serviceUrls } from 'src/config/env.schema';
import { ExecutionCommandsService } from 'src/executions/execution-commands.service';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { tokenFor } from '../utils/auth';
import { DAILY_OPS } from '../utils/e2e';
import { waitUntil } from '../utils/engine-harness';
import { OpsApp, startOpsApp } from '../utils/ops-app';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';
const OPERATOR = { Authorization: `Bearer ${tokenFor('operator')}` };
const ADMIN = { Authorization: `Bearer ${tokenFor('admin')}` };

interface Answer {
  status: number;
  body: Record<string, any>;
  replayed: boolean;
}

/**
 * Commands an operator (or another service) sends: execute, retry and backfill, each sent
 * concurrently and repeated, against PostgreSQL and the simulator over HTTP. Each start
 * of work happens once; every other request learns which one it was.
 */
describeWith(['postgres'], 'operator commands happen once', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let ops: OpsApp;
  // standing still: concurrent manual runs are requested in the same millisecond
  const clock = new FakeClock(new Date());

  const post = async (path: string, body?: object, key?: string): Promise<Answer> => {
    let req = request(ops.http).post(`${API}${path}`).set(OPERATOR);
    if (key !== undefined) req = req.set('Idempotency-Key', key);
    const res = body === undefined ? await req : await req.send(body);
    return {
      status: res.status,
      body: res.body,
      replayed: res.headers['idempotent-replayed'] === 'true',
    };
  };
  const get = async (path: string) => {
    const res = await request(ops.http).get(`${API}${path}`).set(OPERATOR);
    expect(res.status).toBe(200);
    return res.body;
  };
  const concurrently = <T>(n: number, fn: (i: number) => Promise<T>) =>
    Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
  const runsOf = async (workflow: string): Promise<Record<string, any>[]> =>
    (await get(`/executions?workflow=${workflow}&runs_only=true&limit=500`)).items;
  const finished = (id: string) =>
    waitUntil(async () => {
      const run = await get(`/executions/${id}`);
      return ['completed', 'failed'].includes(run.status) ? run : undefined;
    }, 60_000);
  const noneOpen = async (workflow: string) => {
    const open = (await runsOf(workflow)).filter((r) => ['pending', 'running'].includes(r.status));
    for (const r of open) await finished(r.id);
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sim = await startSimulator({ port: 0, tenants: 10, latencyMs: 2, includeInactive: false });
    ops = await startOpsApp({
      databaseUrl: db.url,
      clock,
      env: {
        ...serviceUrls(sim.url),
        ENABLE_LEADER_ELECTION: 'false',
        DELIVERY_TRACKING_IN_PROCESS: 'false',
        RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
        EXECUTION_POLL_MS: '100',
      },
    });
    // a tenant that fails stays failed at once: no engine retries to wait for
    const res = await request(ops.http)
      .put(`${API}/workflows/daily_operations`)
      .set(ADMIN)
      .send({ max_retries: 0 });
    expect(res.status).toBe(200);
  });

  afterAll(async () => {
    await ops?.close();
    await sim?.close();
    await db?.drop();
  });

  beforeEach(async () => {
    await noneOpen('daily_operations');
    clock.advance(1000);
    sim.reset();
    sim.setConfig({ latency_ms: 2 });
  });

  describe('POST /workflows/{id}/execute', () => {
    it('20 concurrent requests with one Idempotency-Key start one run and all get its answer', async () => {
      sim.setConfig({ latency_ms: 50 });
      const before = (await runsOf('daily_operations')).length;
      const answers = await concurrently(20, () =>
        post('/workflows/daily_operations/execute', {}, 'storm-key-1'),
      );

      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
      const ids = new Set(answers.map((a) => a.body.execution_id));
      expect(ids.size).toBe(1);
      expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
      expect((await runsOf('daily_operations')).length).toBe(before + 1);

      // the same key after the run finished still answers with that run
      const [id] = ids;
      await finished(id);
      const later = await post('/workflows/daily_operations/execute', {}, 'storm-key-1');
      expect(later).toMatchObject({ status: 202, replayed: true, body: { execution_id: id } });
      expect((await runsOf('daily_operations')).length).toBe(before + 1);
      const calls = sim.calls().filter((c) => DAILY_OPS.includes(c.operation));
      expect(calls).toHaveLength(sim.activeTenants().length * DAILY_OPS.length);
    });

    it('refuses the same Idempotency-Key with another body (422) and starts nothing', async () => {
      const first = await post('/workflows/daily_operations/execute', {}, 'reused-key');
      expect(first.status).toBe(202);
      await finished(first.body.execution_id);
      const before = (await runsOf('daily_operations')).length;

      const other = await post(
        '/workflows/daily_operations/execute',
        { tenant_ids: [sim.activeTenants()[0].id] },
        'reused-key',
      );
      expect(other.status).toBe(422);
      expect(other.body.message).toMatch(/reused-key.*another request body/);
      expect((await runsOf('daily_operations')).length).toBe(before);
    });

    it('refuses a malformed Idempotency-Key with a 400 naming the header', async () => {
      for (const key of ['', 'x'.repeat(256), 'caf\u00e9', 'tab\there']) {
        const res = await request(ops.http)
          .post(`${API}/workflows/daily_operations/execute`)
          .set(OPERATOR)
          .set('Idempotency-Key', key)
          .send({ dry_run: true });
        expect(res.status).toBe(400);
        expect(res.body.details).toEqual([
          { field: 'Idempotency-Key', message: expect.any(String) },
        ]);
      }
    });

    it('20 concurrent requests without a key start one run; the other 19 get 409 naming it', async () => {
      sim.setConfig({ latency_ms: 100 });
      const before = (await runsOf('daily_operations')).length;
      const answers = await concurrently(20, () => post('/workflows/daily_operations/execute', {}));

      const started = answers.filter((a) => a.status === 202);
      const refused = answers.filter((a) => a.status === 409);
      expect(started).toHaveLength(1);
      expect(refused).toHaveLength(19);
      const id = started[0].body.execution_id;
      for (const r of refused) expect(r.body.message).toContain(`execution ${id}`);
      expect((await runsOf('daily_operations')).length).toBe(before + 1);
    });

    it('concurrent allow_concurrent requests in one millisecond start one run each, none folded into another', async () => {
      const n = 8;
      const answers = await concurrently(n, () =>
        post('/workflows/daily_operations/execute', { allow_concurrent: true }),
      );

      expect(answers.map((a) => [a.status, a.body.status])).toEqual(
        Array(n).fill([202, 'running']),
      );
      const ids = answers.map((a) => a.body.execution_id as string);
      expect(new Set(ids).size).toBe(n);
      const runs = await Promise.all(ids.map(finished));
      // each its own slot, from the request instant on
      const slots = runs.map((r) => Date.parse(r.scheduled_for));
      expect(new Set(slots).size).toBe(n);
      for (const at of slots) expect(at - clock.now().getTime()).toBeLessThan(n);
      for (const run of runs) expect(run.status).toBe('completed');
      const calls = sim.calls().filter((c) => c.operation === 'notification.daily_summary');
      expect(calls).toHaveLength(n * sim.activeTenants().length);
    });
  });

  describe('POST /executions/{id}/retry', () => {
    let original: Record<string, any>;
    let victim: string;

    it('10 concurrent retries of a failed run create one retry; the other 9 get 409', async () => {
      victim = sim.activeTenants()[3].id;
      sim.addFault({ service: 'procurement', tenant_id: victim, status: 500 });
      const started = await post('/workflows/daily_operations/execute', {});
      original = await finished(started.body.execution_id);
      const lost = original.children.find((c: any) => c.tenant_id === victim);
      expect(lost.status).toBe('failed');
      const stillFailed = (await get('/executions/failed?limit=1000')).items.map((e: any) => e.id);
      expect(stillFailed).toContain(lost.id);

      sim.clearFaults();
      sim.clearCalls();
      sim.setConfig({ latency_ms: 100 });
      const answers = await concurrently(10, () => post(`/executions/${original.id}/retry`));

      const accepted = answers.filter((a) => a.status === 202);
      const refused = answers.filter((a) => a.status === 409);
      expect(accepted).toHaveLength(1);
      expect(refused).toHaveLength(9);
      const retryId = accepted[0].body.execution_id;
      expect(accepted[0].body).toEqual({
        execution_id: retryId,
        retry_of_execution_id: original.id,
        tenants: 1,
      });
      for (const r of refused) {
        expect(r.body.message).toMatch(new RegExp(`${retryId}|nothing left that failed`));
      }
      const retry = await finished(retryId);
      expect(retry.status).toBe('completed');
      expect(retry.scheduled_for).toBe(original.scheduled_for);
      // only the failed tenant ran again, from its failed step on
      const calls = sim.calls().filter((c) => DAILY_OPS.includes(c.operation));
      expect(calls.map((c) => c.tenant_id)).toEqual(Array(3).fill(victim));
    });

    it('links the original to its retry and to the one that recovered it, and stops listing it as failed', async () => {
      const detail = await get(`/executions/${original.id}`);
      expect(detail.retried_by).toEqual([
        expect.objectContaining({ execution_type: 'retry', status: 'completed' }),
      ]);
      const retryId = detail.retried_by[0].execution_id;
      expect(detail.recovered_by).toBe(retryId);
      expect(detail.retry_in_progress).toBeNull();

      const lost = detail.children.find((c: any) => c.tenant_id === victim);
      const child = await get(`/executions/${lost.id}`);
      expect(child.recovered_by).toEqual(expect.any(String));
      expect(child.retried_by).toEqual([
        expect.objectContaining({ execution_id: child.recovered_by, run_id: retryId }),
      ]);

      const stillFailed = (await get('/executions/failed?limit=1000')).items.map((e: any) => e.id);
      expect(stillFailed).not.toContain(lost.id);
      expect(stillFailed).not.toContain(original.id);
    });

    it('refuses a retry once the retry succeeded (409) and runs nothing', async () => {
      const again = await post(`/executions/${original.id}/retry`);
      expect(again.status).toBe(409);
      expect(again.body.message).toContain('nothing left that failed');
      const viaChild = await post(
        `/executions/${original.children.find((c: any) => c.tenant_id === victim).id}/retry`,
      );
      expect(viaChild.status).toBe(409);
      // no run was created, so nothing can call a service again
      expect((await get(`/executions/${original.id}`)).retried_by).toHaveLength(1);
      expect((await runsOf('daily_operations')).filter((r) => r.status === 'running')).toEqual([]);
    });
  });

  describe('retry across earlier retries', () => {
    it('re-runs only the tenants whose latest attempt failed, and names the retry that recovered the run', async () => {
      const [a, b] = [sim.activeTenants()[1].id, sim.activeTenants()[2].id];
      const faultB = { service: 'inventory', tenant_id: b, status: 500 };
      sim.addFault({ service: 'procurement', tenant_id: a, status: 500 });
      sim.addFault(faultB);
      const started = await post('/workflows/daily_operations/execute', {});
      const original = await finished(started.body.execution_id);
      const lost = original.children.filter((c: any) => c.status === 'failed');
      expect(lost.map((c: any) => c.tenant_id).sort()).toEqual([a, b].sort());

      // the first retry fixes a; b still fails
      sim.clearFaults();
      sim.addFault(faultB);
      clock.advance(1000);
      const first = await post(`/executions/${original.id}/retry`);
      expect(first.body.tenants).toBe(2);
      await finished(first.body.execution_id);
      expect((await get(`/executions/${original.id}`)).recovered_by).toBeNull();
      const failedIds = (await get('/executions/failed?limit=1000')).items.map((e: any) => e.id);
      expect(failedIds).toContain(lost.find((c: any) => c.tenant_id === b).id);
      expect(failedIds).not.toContain(lost.find((c: any) => c.tenant_id === a).id);

      // retrying the retry retries the original, for b alone
      sim.clearFaults();
      sim.clearCalls();
      clock.advance(1000);
      const second = await post(`/executions/${first.body.execution_id}/retry`);
      expect(second.status).toBe(202);
      expect(second.body).toMatchObject({ retry_of_execution_id: original.id, tenants: 1 });
      await finished(second.body.execution_id);
      const calls = sim.calls().filter((c) => DAILY_OPS.includes(c.operation));
      expect(new Set(calls.map((c) => c.tenant_id))).toEqual(new Set([b]));

      const detail = await get(`/executions/${original.id}`);
      expect(detail.retried_by.map((r: any) => r.execution_id)).toEqual([
        first.body.execution_id,
        second.body.execution_id,
      ]);
      expect(detail.recovered_by).toBe(second.body.execution_id);
      const stillFailed = (await get('/executions/failed?limit=1000')).items.map((e: any) => e.id);
      for (const id of [original.id, first.body.execution_id, ...lost.map((c: any) => c.id)]) {
        expect(stillFailed).not.toContain(id);
      }
    });
  });

  describe('POST /workflows/{id}/backfill', () => {
    // Tuesday to Thursday, no holiday in Madrid: three 08:00 slots
    const range = { from: '2026-11-17T00:00:00Z', to: '2026-11-19T23:00:00Z' };

    it('runs each slot once when identical backfills arrive together', async () => {
      const answers = await concurrently(5, () =>
        post('/workflows/daily_operations/backfill', range),
      );

      expect(answers.map((a) => a.status)).toEqual(Array(5).fill(201));
      const slots = answers[0].body.slots.map((s: any) => s.scheduled_for);
      expect(slots).toHaveLength(3);
      for (const slot of slots) {
        const outcomes = answers.map(
          (a) => a.body.slots.find((s: any) => s.scheduled_for === slot).outcome,
        );
        expect(outcomes.filter((o: string) => o === 'started')).toHaveLength(1);
      }
      const runs = (await runsOf('daily_operations')).filter((r) =>
        slots.includes(r.scheduled_for),
      );
      expect(runs).toHaveLength(3);
      await Promise.all(runs.map((r) => finished(r.id)));
      const calls = sim.calls().filter((c) => c.operation === 'notification.daily_summary');
      expect(calls).toHaveLength(3 * sim.activeTenants().length);
    });

    it('answers identical backfills with one Idempotency-Key alike', async () => {
      const body = { from: '2026-11-24T00:00:00Z', to: '2026-11-24T23:00:00Z' };
      const answers = await concurrently(5, () =>
        post('/workflows/daily_operations/backfill', body, 'backfill-key-1'),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(5).fill(201));
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
      expect(answers[0].body).toMatchObject({ started: 1, duplicates: 0 });
      expect(answers.filter((a) => a.replayed)).toHaveLength(4);
    });

    it('runs a skipped slot, and again only for the tenants without a completed execution there', async () => {
      const slot = '2026-11-26T07:00:00.000Z';
      const body = { from: '2026-11-26T00:00:00Z', to: '2026-11-26T23:00:00Z' };
      // what the scheduler records for a slot that passed with no leader alive
      await ops.app.get(ExecutionCommandsService).recordSkippedSlot({
        workflowId: 'daily_operations',
        scheduledFor: new Date(slot),
        reason: 'missed: no leader between 2026-11-26T06:59:00Z and 2026-11-26T09:00:00Z',
        leaderTerm: null,
      });
      const victim = sim.activeTenants()[5].id;
      sim.addFault({ service: 'inventory', tenant_id: victim, status: 500 });

      const first = await post('/workflows/daily_operations/backfill', body);
      expect(first.status).toBe(201);
      expect(first.body.slots).toEqual([
        expect.objectContaining({ scheduled_for: slot, outcome: 'started' }),
      ]);
      const run = await finished(first.body.slots[0].execution_id);
      expect(run.execution_type).toBe('backfill');
      expect(run.children).toHaveLength(sim.activeTenants().length);
      expect(run.children.filter((c: any) => c.status === 'completed')).toHaveLength(
        sim.activeTenants().length - 1,
      );

      sim.clearFaults();
      sim.clearCalls();
      clock.advance(1000);
      const second = await post('/workflows/daily_operations/backfill', body);
      expect(second.body.slots[0].outcome).toBe('started');
      const rerun = await finished(second.body.slots[0].execution_id);
      expect(rerun.status).toBe('completed');
      expect(rerun.children.map((c: any) => c.tenant_id)).toEqual([victim]);
      const calls = sim.calls().filter((c) => DAILY_OPS.includes(c.operation));
      expect(new Set(calls.map((c) => c.tenant_id))).toEqual(new Set([victim]));

      const third = await post('/workflows/daily_operations/backfill', body);
      expect(third.body.slots[0].outcome).toBe('duplicate');
    });
  });
});
