import { randomBytes } from 'node:crypto';
import { authEnv, bearer } from '../utils/auth';
import { ServiceProcess, freePort } from '../utils/service-process';
import { SERVICES, describeWith } from '../utils/services';
import { TcpProxy } from '../utils/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const TTL_S = 3;
const HEARTBEAT_S = 1;
/** process start-up, HTTP polling and timers on a shared 2-core machine */
const SLACK_MS = 1000;
const LEADER = '/api/v1/orchestrator/leader';

interface LeaderView {
  leader_instance_id: string | null;
  hostname: string | null;
  term: number | null;
  since: string | null;
  last_heartbeat_at: string | null;
  instance_id: string;
  role: 'leader' | 'follower';
  mode: string;
  reason: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWith(['postgres', 'redis'], 'leader election across three service processes', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let env: Record<string, string>;
  let processes: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    // all three reach Redis through one proxy, so a test can take Redis away from them
    // without stopping the machine's Redis that other suites use
    proxy = new TcpProxy(SERVICES.redis.host, SERVICES.redis.port);
    await proxy.start();
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      LEADER_LOCK_KEY: `test:e2e:leader:${randomBytes(6).toString('hex')}`,
      LEADER_LOCK_TTL_SECONDS: String(TTL_S),
      LEADER_HEARTBEAT_SECONDS: String(HEARTBEAT_S),
      RUN_MIGRATIONS: 'false',
      ...authEnv(),
    };
    await Promise.all([startOne(), startOne(), startOne()]);
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await proxy?.cut();
    await db?.drop();
  });

  async function startOne(): Promise<ServiceProcess> {
    const p = new ServiceProcess({ ...env, PORT: freePort() }).start();
    processes.push(p);
    await p.waitFor('/api/v1/orchestrator/health/live');
    return p;
  }

  async function views(): Promise<Array<{ process: ServiceProcess; view: LeaderView }>> {
    const answers = await Promise.all(
      processes.map(async (process) => {
        try {
          const res = await process.get(LEADER, bearer('viewer'));
          return res.status === 200 ? { process, view: res.body as LeaderView } : null;
        } catch {
          return null; // killed or not listening
        }
      }),
    );
    return answers.filter((a): a is { process: ServiceProcess; view: LeaderView } => a !== null);
  }

  async function leaders() {
    return (await views()).filter((a) => a.view.role === 'leader');
  }

  /** Polls every 25 ms until exactly one process says it leads and `accept` agrees. */
  async function waitForLeader(
    timeoutMs: number,
    accept: (v: LeaderView) => boolean = () => true,
  ): Promise<{ process: ServiceProcess; view: LeaderView; ms: number }> {
    const started = Date.now();
    for (;;) {
      const found = await leaders();
      if (found.length > 1)
        throw new Error(`two leaders: ${JSON.stringify(found.map((f) => f.view))}`);
      if (found.length === 1 && accept(found[0].view)) {
        return { ...found[0], ms: Date.now() - started };
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `no leader within ${timeoutMs} ms: ${JSON.stringify((await views()).map((v) => v.view))}`,
        );
      }
      await sleep(25);
    }
  }

  function forget(p: ServiceProcess): void {
    processes = processes.filter((x) => x !== p);
  }

  it('exactly one process reports itself leader, and all agree on who and which term', async () => {
    const first = await waitForLeader(10000);
    await sleep(HEARTBEAT_S * 1000 * 2); // several renewals later, still the same one
    const all = await views();

    expect(all).toHaveLength(3);
    const leading = all.filter((a) => a.view.role === 'leader');
    expect(leading).toHaveLength(1);
    const { process: leader, view } = leading[0];
    expect(view.instance_id).toBe(first.view.instance_id);
    for (const { view: v } of all) {
      expect(v).toEqual(
        expect.objectContaining({
          leader_instance_id: view.instance_id,
          term: view.term,
          mode: 'election',
        }),
      );
    }
    expect(view.instance_id).toMatch(/^.+_[0-9a-f]{8}$/);
    expect(Date.parse(view.last_heartbeat_at!)).toBeGreaterThan(Date.parse(view.since!));

    const metrics = (await leader.get('/metrics')).body as string;
    expect(metrics).toContain(`orchestrator_leader_instance{instance_id="${view.instance_id}"} 1`);
    const follower = all.find((a) => a.view.role === 'follower')!;
    expect((await follower.process.get('/metrics')).body).toContain(
      `orchestrator_leader_instance{instance_id="${follower.view.instance_id}"} 0`,
    );

    const ready = await leader.get('/api/v1/orchestrator/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details.leader).toEqual(
      expect.objectContaining({ status: 'up', role: 'leader', mode: 'election' }),
    );
    const followerReady = await follower.process.get('/api/v1/orchestrator/health/ready');
    expect(followerReady.status).toBe(200); // a follower is ready too
    expect(followerReady.body.details.leader).toEqual(
      expect.objectContaining({ status: 'up', role: 'follower' }),
    );
  });

  it('after kill -9 of the leader, a follower leads within TTL + heartbeat under the next term', async () => {
    const { process: old, view } = await waitForLeader(10000);

    await old.stop('SIGKILL');
    forget(old);
    const next = await waitForLeader(
      (TTL_S + HEARTBEAT_S) * 1000 + SLACK_MS,
      (v) => v.instance_id !== view.instance_id,
    );

    expect(next.ms).toBeLessThanOrEqual((TTL_S + HEARTBEAT_S) * 1000 + SLACK_MS);
    expect(next.view.term).toBe(view.term! + 1);
    expect(next.view.leader_instance_id).toBe(next.view.instance_id);
    await startOne(); // back to three
  });

  it('after SIGTERM of the leader, a follower takes over at once (released, not expired)', async () => {
    const { process: old, view } = await waitForLeader(10000);

    const stopping = old.stop('SIGTERM');
    const next = await waitForLeader(TTL_S * 1000, (v) => v.instance_id !== view.instance_id);
    const exit = await stopping;
    forget(old);

    expect(exit.code).toBe(0);
    // well under the TTL: the lock was given up, not left to expire
    expect(next.ms).toBeLessThan(TTL_S * 1000 - 1000);
    expect(next.view.term).toBe(view.term! + 1);
    await startOne();
  });

  it('with Redis cut off, the leader steps down and nobody leads; readiness says why', async () => {
    const { process: old } = await waitForLeader(10000);

    await proxy.cut();
    try {
      // the leader's next renewal fails at once; give it a heartbeat plus slack
      await sleep(HEARTBEAT_S * 1000 + 500);
      expect(await leaders()).toEqual([]);
      // and nobody takes over while Redis stays away, well past the old lock's TTL
      await sleep(TTL_S * 1000);
      const all = await views();
      expect(all).toHaveLength(3);
      for (const { view } of all) {
        expect(view.role).toBe('follower');
        expect(view.reason).toMatch(/redis unreachable|lock renewal failed/);
      }

      const ready = await old.get('/api/v1/orchestrator/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error.redis).toEqual(expect.objectContaining({ status: 'down' }));
      expect(ready.body.details.leader).toEqual(
        expect.objectContaining({ status: 'up', role: 'follower' }),
      );
    } finally {
      await proxy.restore();
    }
    await waitForLeader((TTL_S + HEARTBEAT_S) * 1000 + 3000);
  });
});

describeWith(['postgres'], 'single-instance mode (no REDIS_URL)', () => {
  let db: TestDatabase;
  let service: ServiceProcess;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    service = new ServiceProcess({
      PORT: freePort(),
      DATABASE_URL: db.url,
      LOG_LEVEL: 'info',
      ...authEnv(),
    }).start();
    await service.waitFor('/api/v1/orchestrator/health/ready');
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await db?.drop();
  });

  it('leads alone under a term and says so in GET /leader and in the log', async () => {
    const { status, body } = await service.get(LEADER, bearer('viewer'));

    expect(status).toBe(200);
    expect(body).toEqual(
      expect.objectContaining({
        role: 'leader',
        mode: 'single-instance',
        reason: 'single-instance mode: REDIS_URL is not set',
        term: 1,
        leader_instance_id: body.instance_id,
      }),
    );
    expect(service.output).toContain('single-instance mode (REDIS_URL is not set)');
  });

  it('documents the route in Swagger', async () => {
    const docs = await service.get('/api/docs-json');
    expect(docs.body.paths[LEADER]).toBeDefined();
    expect(docs.body.components.schemas.LeaderViewDto.required).toEqual(
      expect.arrayContaining(['leader_instance_id', 'term', 'role', 'instance_id']),
    );
  });
});
