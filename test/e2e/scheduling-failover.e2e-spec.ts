import { serviceUrls } from 'src/config/env.schema';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { authEnv, bearer, tokenFor } from '../utils/auth';
import { ServiceProcess, freePort } from '../utils/service-process';
import { SERVICES, describeWith } from '../utils/services';
import { TcpProxy } from '../utils/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';
const TTL_S = 3;
const HEARTBEAT_S = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Parent {
  scheduled_for: Date;
  status: string;
  execution_type: string;
  leader_term: string | null;
  created_at: Date;
}

/**
 * Slots across leader changes, with three service processes on PostgreSQL and Redis (TTL
 * 3 s, heartbeat 1 s) and daily_operations switched to every minute: a slot that falls
 * while no process leads runs once when a leader is back; with Redis gone nobody
 * schedules.
 */
describeWith(['postgres', 'redis'], 'scheduling across leader changes (three processes)', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let proxy: TcpProxy;
  let pg: Client;
  let env: Record<string, string>;
  let processes: ServiceProcess[] = [];
  let workflowId: string;

  async function startOne(): Promise<ServiceProcess> {
    const p = new ServiceProcess({ ...env, PORT: freePort() }).start();
    processes.push(p);
    await p.waitFor(`${API}/health/live`);
    return p;
  }

  async function leader(timeoutMs = 15_000): Promise<{ process: ServiceProcess; term: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const process of processes) {
        try {
          const res = await process.get(`${API}/leader`, bearer('viewer'));
          if (res.status === 200 && res.body.role === 'leader')
            return { process, term: Number(res.body.term) };
        } catch {
          // killed or not listening
        }
      }
      if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  const parents = async (): Promise<Parent[]> =>
    (
      await pg.query(
        `SELECT scheduled_for, status, execution_type, leader_term, created_at FROM orchestrator_executions
          WHERE workflow_id = $1 AND tenant_id IS NULL ORDER BY scheduled_for`,
        [workflowId],
      )
    ).rows;

  /** Sleeps until `msBefore` ms before the next minute boundary; returns that boundary. */
  async function untilBeforeNextMinute(msBefore: number): Promise<Date> {
    let boundary = Math.ceil(Date.now() / 60_000) * 60_000;
    if (boundary - Date.now() < msBefore + 500) boundary += 60_000;
    await sleep(boundary - msBefore - Date.now());
    return new Date(boundary);
  }

  async function waitForParent(slot: Date, timeoutMs: number): Promise<Parent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await parents()).find((p) => p.scheduled_for.getTime() === slot.getTime());
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no execution for ${slot.toISOString()}`);
      await sleep(100);
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sim = await startSimulator({ port: 0, tenants: 3, latencyMs: 1 });
    proxy = new TcpProxy(SERVICES.redis.host, SERVICES.redis.port);
    await proxy.start();
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      LEADER_LOCK_KEY: `test:e2e:sched:${randomBytes(6).toString('hex')}`,
      LEADER_LOCK_TTL_SECONDS: String(TTL_S),
      LEADER_HEARTBEAT_SECONDS: String(HEARTBEAT_S),
      DELIVERY_TRACKING_IN_PROCESS: 'false',
      RUN_MIGRATIONS: 'false',
      ...authEnv(),
      ...serviceUrls(sim.url),
    };
    await Promise.all([startOne(), startOne(), startOne()]);
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    const { process } = await leader();
    const res = await fetch(`${process.baseUrl}${API}/schedule`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${tokenFor('admin')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        workflows: [
          { workflow: 'daily_operations', cron_expression: '* * * * *', overlap_policy: 'allow' },
        ],
      }),
    });
    expect(res.status).toBe(200);
    workflowId = ((await res.json()) as { workflow_id: string }[])[0].workflow_id;
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await pg?.end();
    await proxy?.cut();
    await sim?.close();
    await db?.drop();
  });

  it('a slot that falls while the killed leader is not yet replaced runs exactly once, under the new term', async () => {
    const { process: old, term } = await leader();
    const slot = await untilBeforeNextMinute(1500);
    await old.stop('SIGKILL');
    processes = processes.filter((p) => p !== old);
    const next = await leader((TTL_S + HEARTBEAT_S) * 1000 + 5000);
    expect(next.term).toBeGreaterThan(term);

    const run = await waitForParent(slot, 15_000);
    expect(run.status).not.toBe('skipped');
    expect(['scheduled', 'catch_up']).toContain(run.execution_type);
    expect(Number(run.leader_term)).toBe(next.term);
    // exactly once: the slot key is unique, and the slots around it are single and consecutive
    const all = await parents();
    expect(all.filter((p) => p.scheduled_for.getTime() === slot.getTime())).toHaveLength(1);
    await startOne();
  });

  it('with Redis cut off nobody schedules; once it is back the missed slot runs once', async () => {
    await leader();
    const slot = await untilBeforeNextMinute(3000);
    await proxy.cut();
    let during: Parent[] = [];
    try {
      // the leader stops at its next failed renewal, before the slot
      await sleep(slot.getTime() - Date.now() + 6000);
      during = (await parents()).filter((p) => p.scheduled_for.getTime() >= slot.getTime());
    } finally {
      await proxy.restore();
    }
    expect(during).toEqual([]);
    await leader((TTL_S + HEARTBEAT_S) * 1000 + 5000);
    const run = await waitForParent(slot, 20_000);
    // 6+ s late: past the 5 s on-time tolerance, within the per-minute workflow's 30 s window, so it runs, once
    expect(run.status).not.toBe('skipped');
    expect(run.execution_type).toBe('catch_up');
    expect(
      (await parents()).filter((p) => p.scheduled_for.getTime() === slot.getTime()),
    ).toHaveLength(1);
  });
});
