import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';
import { MAX_BACKFILL_SLOTS } from 'src/scheduling/schedule.service';
import { MAX_NEXT_RUN_COUNT } from 'src/scheduling/dto/schedule.dto';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { tokenFor } from '../utils/auth';
import { listenWithPool } from '../utils/e2e';
import { OpsApp, floodEnv, startOpsApp } from '../utils/ops-app';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';
const DAY_MS = 86_400_000;
const ms = (ns: number) => Math.round(ns / 1e4) / 100;
/**
 * The longest stretch of a heavy request's slot computation in which no other request was
 * answered, as a share of that computation. Unsliced, the computation is one synchronous block
 * (0.95-0.97 of it measured); sliced, small requests keep being answered (0.07-0.13 measured).
 */
const MAX_SILENT_SHARE = 0.4;

/** The longest gap between `from`, the answers within (from, to) and `to`, as a share of to - from. */
function longestSilentShare(answers: number[], from: number, to: number): number {
  const points = [from, ...answers.filter((at) => at > from && at < to), to];
  let longest = 0;
  for (let i = 1; i < points.length; i++) longest = Math.max(longest, points[i] - points[i - 1]);
  return longest / (to - from);
}

/**
 * The heaviest valid scheduler requests (every workflow's next MAX_NEXT_RUN_COUNT runs; a
 * backfill of close to MAX_BACKFILL_SLOTS daily slots) in this process, with small requests
 * sent back to back meanwhile: they keep being answered while the slots are computed, so no
 * handler holds the event loop for its whole computation. The loop delay is printed.
 */
describeWith(['postgres'], 'heavy schedule requests keep the event loop free', () => {
  let db: TestDatabase;
  let ops: OpsApp;
  let sim: RunningSimulator;
  let pool: Pool;
  const admin = `Bearer ${tokenFor('admin', undefined, { sub: 'loop-admin' })}`;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    // no tenants: the backfilled runs have nothing to execute, so only the request is measured
    sim = await startSimulator({ port: 0, tenants: 0 });
    ops = await startOpsApp({
      databaseUrl: db.url,
      env: floodEnv(sim.url),
    });
    pool = await listenWithPool(ops.app, 2);
    // warm up (JIT, first queries) so the first measured request is not the app settling
    await call('GET', '/schedule/next-run?count=5');
  });

  afterAll(async () => {
    await pool?.close();
    await ops?.close();
    await sim?.close();
    await db?.drop();
  });

  /**
   * Sends `send` and, while it is in flight, small requests back to back on the pool's other
   * connection (`GET .../health/live`, through the same middleware). Records when each small
   * answer came, as a share of the heavy request's wall time. The loop delay is printed as a
   * figure only: on a machine shared with other test processes it varies too much to assert.
   */
  async function measured(send: () => Promise<{ status: number; body: any }>) {
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const startedAt = Date.now();
    const t0 = performance.now();
    let done = false;
    /** ms after the start of `send`, and the epoch ms, of each small answer */
    const answeredAt: number[] = [];
    const answeredEpoch: number[] = [];
    const heavy = send().finally(() => {
      done = true;
    });
    const small = (async () => {
      while (!done) {
        const res = await pool.request({ path: `${API}/health/live`, method: 'GET' });
        await res.body.dump();
        if (!done) {
          answeredAt.push(performance.now() - t0);
          answeredEpoch.push(Date.now());
        }
      }
    })();
    const res = await heavy;
    const elapsed = performance.now() - t0;
    await small;
    loop.disable();
    const silentShare = longestSilentShare(answeredAt, 0, elapsed);
    return {
      res,
      silentShare,
      startedAt,
      answeredEpoch,
      figures: {
        request_ms: Math.round(elapsed),
        small_answers: answeredAt.length,
        longest_silent_share: Math.round(silentShare * 100) / 100,
        loop_max_ms: ms(loop.max),
        loop_p99_ms: ms(loop.percentile(99)),
      },
    };
  }

  async function call(method: 'GET' | 'POST', path: string, body?: unknown) {
    const res = await pool.request({
      path: `${API}${path}`,
      method,
      headers: { authorization: admin, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, body: await res.body.json() };
  }

  it(`GET /schedule/next-run?count=${MAX_NEXT_RUN_COUNT} for every workflow`, async () => {
    const { res, figures, silentShare } = await measured(() =>
      call('GET', `/schedule/next-run?count=${MAX_NEXT_RUN_COUNT}`),
    );
    // eslint-disable-next-line no-console
    console.log(`next-run figures ${JSON.stringify(figures)}`);
    expect(res.status).toBe(200);
    expect(res.body.length).toBeGreaterThanOrEqual(3);
    for (const w of res.body) expect(w.slots).toHaveLength(MAX_NEXT_RUN_COUNT);
    expect(silentShare).toBeLessThan(MAX_SILENT_SHARE);
  });

  it(`POST /workflows/{id}/backfill over close to ${MAX_BACKFILL_SLOTS} daily slots`, async () => {
    await ops.dataSource.query(
      `UPDATE orchestrator_workflows
          SET cron_expression = '0 3 * * *', holiday_policy = 'run', weekend_policy = 'run'
        WHERE workflow_name = 'alert_cleanup'`,
    );
    const to = new Date(Date.now() - 60_000);
    const from = new Date(to.getTime() - (MAX_BACKFILL_SLOTS - 1) * DAY_MS);
    const { res, figures, startedAt, answeredEpoch } = await measured(() =>
      call('POST', '/workflows/alert_cleanup/backfill', {
        from: from.toISOString(),
        to: to.toISOString(),
      }),
    );
    // eslint-disable-next-line no-console
    console.log(
      `backfill figures ${JSON.stringify({ ...figures, slots: res.body.slots?.length })}`,
    );
    expect(res.status).toBe(201);
    expect(res.body.slots.length).toBeGreaterThanOrEqual(MAX_BACKFILL_SLOTS - 1);
    expect(res.body.slots.length).toBeLessThanOrEqual(MAX_BACKFILL_SLOTS);
    // the slots are computed before the first run is written; the writes await the database,
    // so small requests get through them either way: what counts is the computing phase
    const [{ first }] = await ops.dataSource.query(
      `SELECT (extract(epoch from min(e.created_at)) * 1000)::float8 AS first
         FROM orchestrator_executions e
         JOIN orchestrator_workflows w ON w.id = e.workflow_id
        WHERE w.workflow_name = 'alert_cleanup' AND e.execution_type = 'backfill'`,
    );
    const silent = longestSilentShare(answeredEpoch, startedAt, first);
    // eslint-disable-next-line no-console
    console.log(
      `backfill computing ${JSON.stringify({ computing_ms: Math.round(first - startedAt), longest_silent_share: Math.round(silent * 100) / 100 })}`,
    );
    expect(silent).toBeLessThan(MAX_SILENT_SHARE);
  });
});
