import { Client } from 'pg';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { tokenFor } from '../utils/auth';
import { ServiceProcess, freePort, serviceEnv } from '../utils/service-process';
import { ServiceCluster, startServiceCluster } from '../utils/service-cluster';
import { SERVICES, describeWith } from '../utils/services';
import { TcpProxy } from '../utils/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../utils/test-db';
import { eventually, sleep } from '../utils/wait';

const API = '/api/v1/orchestrator';

interface Parent {
  id: string;
  status: string;
  execution_type: string;
  scheduled_for: Date;
  created_at: Date;
  completed_at: Date | null;
}

const parentsIn = async (pg: Client): Promise<Parent[]> =>
  (
    await pg.query(
      `SELECT id, status, execution_type, scheduled_for, created_at, completed_at
         FROM orchestrator_executions
        WHERE workflow_name = 'daily_operations' AND tenant_id IS NULL ORDER BY scheduled_for`,
    )
  ).rows;

const databaseNowIn = async (pg: Client): Promise<number> =>
  ((await pg.query(`SELECT now() AS now`)).rows[0].now as Date).getTime();

/** daily_operations every minute, overlap_policy skip, a catch-up window just under a slot. */
async function scheduleEveryMinute(service: ServiceProcess): Promise<void> {
  const res = await fetch(`${service.baseUrl}${API}/schedule`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${tokenFor('admin')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      workflows: [
        {
          workflow: 'daily_operations',
          cron_expression: '* * * * *',
          overlap_policy: 'skip',
          catch_up_window_seconds: 55,
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
}

/** The first run, once every active tenant's forecasts are in: its slow production step is next. */
async function firstRunInSlowStep(pg: Client, sim: RunningSimulator): Promise<Parent> {
  const run = await eventually(async () => (await parentsIn(pg))[0], 75_000);
  const active = sim.activeTenants().length;
  await eventually(
    async () =>
      sim.calls({ operation: 'forecasting.generate' }).filter((c) => c.status === 200).length >=
      active,
    20_000,
  );
  return run;
}

/** The runs once the slot at `next` has completed. */
const nextCompleted = (pg: Client, next: Date): Promise<Parent[]> =>
  eventually(async () => {
    const rows = await parentsIn(pg);
    const ran = rows.find((p) => p.scheduled_for.getTime() === next.getTime());
    return ran?.status === 'completed' && rows;
  }, 90_000);

/** The slot at `next` waited for `run` to complete, then ran as a catch-up; nothing skipped. */
function expectWaitedThenRan(after: Parent[], run: Parent, next: Date): void {
  const previous = after.find((p) => p.id === run.id)!;
  const waited = after.find((p) => p.scheduled_for.getTime() === next.getTime())!;
  expect(previous.status).toBe('completed');
  expect(waited.execution_type).toBe('catch_up');
  expect(waited.created_at.getTime()).toBeGreaterThanOrEqual(previous.completed_at!.getTime());
  expect(after.filter((p) => p.status === 'skipped')).toEqual([]);
}

/**
 * Outage is not overlap, the PostgreSQL variant: daily_operations every minute with
 * overlap_policy skip, its production step slow (70 s). PostgreSQL becomes unreachable for
 * the service (a proxy between them drops every connection) for 8 s during the run; the
 * run is still going when the next slot comes. Because the database was unreachable during
 * it, that slot waits instead of being recorded skipped, and runs once the run has ended.
 */
describeWith(['postgres'], 'outage + overlap (PostgreSQL unreachable during the run)', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let pg: Client;
  let proxy: TcpProxy;
  let service: ServiceProcess | undefined;

  const parents = () => parentsIn(pg);
  const databaseNow = () => databaseNowIn(pg);

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sim = await startSimulator({ port: 0, tenants: 3, latencyMs: 1 });
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    proxy = new TcpProxy(SERVICES.postgres.host, SERVICES.postgres.port);
    await proxy.start();
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await proxy?.cut();
    await pg?.end();
    await sim?.close();
    await db?.drop();
  });

  it('the next slot waits for the run the outage made late, then runs; it is not recorded skipped', async () => {
    const url = new URL(db.url);
    url.port = String(proxy.port);
    service = new ServiceProcess(
      serviceEnv(url.toString(), sim.url, {
        PORT: freePort(),
        RUN_MIGRATIONS: 'false',
        // tenant work the outage interrupted is taken back within seconds, so the run ends
        // within the next slot's catch-up window
        EXECUTION_LEASE_SECONDS: '5',
      }),
    ).start();
    await service.waitFor(`${API}/health/live`);
    sim.addFault({ service: 'production', latency_ms: 70_000 });
    await scheduleEveryMinute(service);

    const run = await firstRunInSlowStep(pg, sim);

    // the outage: 8 s without the database, mid-run
    await proxy.cut();
    await sleep(8_000);
    await proxy.restore();

    const next = new Date(run.scheduled_for.getTime() + 60_000);
    await sleep(Math.max(0, next.getTime() + 5_000 - (await databaseNow())));
    expect((await parents()).map((p) => [p.scheduled_for.toISOString(), p.status])).toEqual([
      [run.scheduled_for.toISOString(), 'running'],
    ]);
    expect(service.output).toContain('the database was unreachable during the run');

    sim.clearFaults();
    const after = await nextCompleted(pg, next).catch(async (err: Error) => {
      const children = await pg.query(
        `SELECT status, lease_expires_at, started_at, completed_at FROM orchestrator_executions WHERE parent_execution_id = $1`,
        [run.id],
      );
      throw new Error(
        `${err.message}; runs ${JSON.stringify(await parents())}; children of the first ${JSON.stringify(children.rows)}; output:\n${service!.output.slice(-3000)}`,
      );
    });
    expectWaitedThenRan(after, run, next);
  }, 300_000);
});

/**
 * Outage is not overlap: daily_operations every minute with overlap_policy skip, its
 * production step slow (60 s). The leader is killed during the run and a new one starts;
 * the run resumes but is still going when the next slot comes. Because the run is late
 * through an outage (the leadership changed during it), that slot waits instead of being
 * recorded skipped, and runs once the previous run has ended.
 */
describeWith(['postgres'], 'outage + overlap', () => {
  let cluster: ServiceCluster;

  beforeAll(async () => {
    cluster = await startServiceCluster({
      tenants: 3,
      latencyMs: 1,
      env: {
        RUN_MIGRATIONS: 'false',
        LEADER_LOCK_TTL_SECONDS: '3',
        LEADER_HEARTBEAT_SECONDS: '1',
        EXECUTION_LEASE_SECONDS: '5',
      },
    });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it('the next slot waits for a run an outage made late, then runs; it is not recorded skipped', async () => {
    const { pg, sim, start, databaseNow } = cluster;
    const parents = () => parentsIn(pg);
    const first = await start();
    sim.addFault({ service: 'production', latency_ms: 60_000 });
    await scheduleEveryMinute(first);

    // the first run is in its slow production step
    const run = await firstRunInSlowStep(pg, sim);
    await sleep(1000);

    // the outage: the leader dies mid-run; a new one takes over and resumes the run
    await first.stop('SIGKILL');
    const second = await start();

    const next = new Date(run.scheduled_for.getTime() + 60_000);
    await sleep(Math.max(0, next.getTime() + 5_000 - (await databaseNow())));
    const during = await parents();
    expect(during.map((p) => [p.scheduled_for.toISOString(), p.status])).toEqual([
      [run.scheduled_for.toISOString(), 'running'],
    ]);
    const cursor = await pg.query(
      `SELECT next_execution_at FROM orchestrator_workflows WHERE workflow_name = 'daily_operations'`,
    );
    expect(cursor.rows[0].next_execution_at).toEqual(next);
    expect(second.output).toContain('slot waits for the previous run, late because of an outage');

    sim.clearFaults();
    const after = await nextCompleted(pg, next);
    expectWaitedThenRan(after, run, next);
  }, 300_000);
});
