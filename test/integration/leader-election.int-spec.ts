import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { SystemClock } from 'src/common/time/clock';
import { AppConfig } from 'src/config/app-config.service';
import { validateEnv } from 'src/config/validate-env';
import { ControlDatabase } from 'src/database/control-database';
import { buildDataSourceOptions } from 'src/database/data-source';
import { LeaderElectionService } from 'src/leader/leader-election.service';
import { LeaderSettings } from 'src/leader/leader-settings';
import { leaderTimings } from 'src/leader/leader-timing';
import { LeaderRepository } from 'src/leader/leader.repository';
import { RedlockLeaderLock } from 'src/leader/redlock-leader-lock.adapter';
import { WorkflowsRepository } from 'src/workflows/workflows.repository';
import { DataSource } from 'typeorm';
import { SERVICES, describeWith } from '../utils/services';
import { TcpProxy } from '../utils/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const TTL_S = 3;
const HEARTBEAT_S = 1;
/** timers on a shared 2-core machine fire late by tens of ms; the bound itself is TTL + heartbeat */
const SCHEDULING_SLACK_MS = 500;

interface Instance {
  name: string;
  service: LeaderElectionService;
  proxy: TcpProxy;
  lock: RedlockLeaderLock;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil<T>(
  probe: () => T | undefined | null | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

describeWith(['postgres', 'redis'], 'leader election on Redis and PostgreSQL', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let control: ControlDatabase;
  let repository: LeaderRepository;
  let instances: Instance[] = [];
  let lockKey: string;
  /** every 10 ms: how many instances believed they lead; must never exceed 1 */
  let maxSimultaneousLeaders = 0;
  let sampler: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    db = await createTestDatabase({ migrated: true });
    dataSource = new DataSource(
      buildDataSourceOptions({ DATABASE_URL: db.url, DATA_DIR: '' }, { poolSize: 6 }),
    );
    await dataSource.initialize();
    control = new ControlDatabase(
      dataSource,
      new AppConfig(validateEnv({ DATABASE_URL: db.url, NODE_ENV: 'test' })),
    );
    repository = new LeaderRepository(control);
  });

  afterAll(async () => {
    await control?.onApplicationShutdown();
    await dataSource?.destroy();
    await db?.drop();
  });

  beforeEach(() => {
    lockKey = `test:leader:${randomBytes(6).toString('hex')}`;
    maxSimultaneousLeaders = 0;
  });

  afterEach(async () => {
    clearInterval(sampler);
    for (const i of instances) {
      await i.service.stop();
      await i.service.onApplicationShutdown();
      await i.proxy.cut();
    }
    instances = [];
  });

  async function startInstance(
    name: string,
    ttlS = TTL_S,
    heartbeatS = HEARTBEAT_S,
  ): Promise<Instance> {
    // each instance reaches Redis through its own proxy, so a test can cut one off
    const proxy = new TcpProxy(SERVICES.redis.host, SERVICES.redis.port);
    await proxy.start();
    const lock = new RedlockLeaderLock({
      url: `redis://127.0.0.1:${proxy.port}`,
      key: lockKey,
      commandTimeoutMs: leaderTimings(ttlS, heartbeatS).commandTimeoutMs,
    });
    const settings = new LeaderSettings(
      'election',
      null,
      `redis://127.0.0.1:${proxy.port}`,
      lockKey,
      ttlS,
      heartbeatS,
      'test-host',
      `test-host_${name}`,
    );
    const gauge = new Gauge({
      name: 'orchestrator_leader_instance',
      help: 'test',
      labelNames: ['instance_id'],
      registers: [],
    });
    const service = new LeaderElectionService(settings, new SystemClock(), repository, lock, gauge);
    await waitUntil(() => lock.isAvailable(), 5000, `${name} to connect to Redis`);
    await service.start();
    const instance = { name, service, proxy, lock };
    instances.push(instance);
    return instance;
  }

  /** Who leads now; every look also counts towards maxSimultaneousLeaders. */
  function leaders(): Instance[] {
    const found = instances.filter((i) => i.service.isLeader());
    maxSimultaneousLeaders = Math.max(maxSimultaneousLeaders, found.length);
    return found;
  }

  function sampleLeaders(): void {
    maxSimultaneousLeaders = 0;
    sampler = setInterval(() => leaders(), 10);
  }

  async function recordedTerm(): Promise<string> {
    const record = await repository.findCurrent();
    return record!.term;
  }

  it('elects exactly one of three instances and records it with its term', async () => {
    await Promise.all(['a', 'b', 'c'].map((n) => startInstance(n)));
    sampleLeaders();
    await sleep(HEARTBEAT_S * 1000 * 3);

    expect(leaders()).toHaveLength(1);
    expect(maxSimultaneousLeaders).toBe(1);
    const [leader] = leaders();
    const record = await repository.findCurrent();
    expect(record).toEqual(
      expect.objectContaining({
        instanceId: leader.service.instanceId(),
        term: leader.service.term(),
        hostname: 'test-host',
      }),
    );
    // heartbeats move last_heartbeat_at while the leader keeps its term
    expect(record!.lastHeartbeatAt.getTime()).toBeGreaterThan(record!.becameLeaderAt.getTime());
  });

  it('when the leader stops renewing, it steps down at once and another leads within TTL + heartbeat', async () => {
    await Promise.all(['a', 'b', 'c'].map((n) => startInstance(n)));
    const [old] = await waitUntil(() => leaders().length === 1 && leaders(), 5000, 'a leader');
    const oldTerm = old.service.term()!;
    sampleLeaders();

    const cutAt = Date.now();
    await old.proxy.cut(); // its renewals can no longer reach Redis
    await waitUntil(() => !old.service.isLeader(), TTL_S * 1000, 'the old leader to step down');
    const steppedDownMs = Date.now() - cutAt;
    const [next] = await waitUntil(
      () => leaders().length === 1 && leaders()[0] !== old && leaders(),
      (TTL_S + HEARTBEAT_S) * 1000 + SCHEDULING_SLACK_MS,
      'another leader',
    );
    const failoverMs = Date.now() - cutAt;

    expect(steppedDownMs).toBeLessThanOrEqual(HEARTBEAT_S * 1000 + SCHEDULING_SLACK_MS);
    expect(failoverMs).toBeLessThanOrEqual((TTL_S + HEARTBEAT_S) * 1000 + SCHEDULING_SLACK_MS);
    expect(maxSimultaneousLeaders).toBe(1);
    expect(BigInt(next.service.term()!)).toBe(BigInt(oldTerm) + 1n);
    expect(await recordedTerm()).toBe(next.service.term());
    expect(old.service.status().reason).toMatch(/lock renewal failed|redis unreachable/);
  });

  it('hands over at once when the leader releases on shutdown, long before the next heartbeat', async () => {
    // a 5 s heartbeat: without the release notification the takeover would take seconds
    await Promise.all(['a', 'b', 'c'].map((n) => startInstance(n, 15, 5)));
    const [old] = await waitUntil(() => leaders().length === 1 && leaders(), 5000, 'a leader');
    await sleep(200); // followers have made their first attempt and now wait for the heartbeat
    const oldTerm = old.service.term()!;
    sampleLeaders();

    const stoppedAt = Date.now();
    await old.service.stop();
    const [next] = await waitUntil(
      () => leaders().length === 1 && leaders(),
      5000,
      'another leader',
    );
    const takeoverMs = Date.now() - stoppedAt;

    expect(next).not.toBe(old);
    expect(takeoverMs).toBeLessThan(1000);
    expect(maxSimultaneousLeaders).toBe(1);
    expect(BigInt(next.service.term()!)).toBe(BigInt(oldTerm) + 1n);
  });

  it('with Redis unreachable nobody leads, and one instance leads again once it is back', async () => {
    await Promise.all(['a', 'b'].map((n) => startInstance(n)));
    await waitUntil(() => leaders().length === 1, 5000, 'a leader');

    for (const i of instances) await i.proxy.cut();
    await sleep((HEARTBEAT_S + TTL_S) * 1000);

    expect(leaders()).toHaveLength(0);
    for (const i of instances) {
      expect(i.service.status().reason).toMatch(/redis unreachable|lock renewal failed/);
    }

    for (const i of instances) await i.proxy.restore();
    await waitUntil(
      () => leaders().length === 1,
      (TTL_S + HEARTBEAT_S) * 1000 + 2000,
      'a leader after Redis returned',
    );
  });

  describe('fencing', () => {
    const WORKFLOW_ID = '7d0c1d2e-0000-4000-8000-000000000001';
    const SLOT = new Date('2025-11-06T07:00:00Z');
    const NEXT = new Date('2025-11-07T07:00:00Z');

    beforeEach(async () => {
      handOvers = 0;
      await dataSource.query(`DELETE FROM orchestrator_workflows WHERE id = $1`, [WORKFLOW_ID]);
      await dataSource.query(
        `INSERT INTO orchestrator_workflows (id, workflow_name, workflow_type, cron_expression, steps, next_execution_at)
         VALUES ($1, 'fencing_probe', 'daily', '0 8 * * *', '[]', $2)`,
        [WORKFLOW_ID, SLOT],
      );
    });

    /**
     * The scheduler's own slot claim (WorkflowsRepository.claimSlot, the statement that runs
     * in production), carrying the term of whoever believes it leads: 1 when it claimed.
     */
    let handOvers = 0;
    async function claimSlot(term: string): Promise<number> {
      const outcome = await new WorkflowsRepository(dataSource).claimSlot(
        { workflowId: WORKFLOW_ID, slot: SLOT, next: NEXT, term },
        async () => ++handOvers,
      );
      return outcome.claimed ? 1 : 0;
    }

    it('refuses a claim carrying the term of a leader that has been replaced', async () => {
      const a = await startInstance('a');
      await waitUntil(() => a.service.isLeader(), 5000, 'a to lead');
      const b = await startInstance('b');
      const termA = a.service.term()!;

      await a.service.stop(); // b takes over with a newer term
      await waitUntil(() => b.service.isLeader(), 5000, 'b to lead');
      const termB = b.service.term()!;

      expect(BigInt(termB)).toBe(BigInt(termA) + 1n);
      expect(await claimSlot(termA)).toBe(0);
      expect(await claimSlot(termB)).toBe(1);
      // the slot moved exactly once, and only the winning claim handed over
      expect(await claimSlot(termB)).toBe(0);
      expect(handOvers).toBe(1);
    });

    it('accepts the current leader term', async () => {
      const a = await startInstance('a');
      await waitUntil(() => a.service.isLeader(), 5000, 'a to lead');

      expect(await claimSlot(a.service.term()!)).toBe(1);
    });
  });
});
