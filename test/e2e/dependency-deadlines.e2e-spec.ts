import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { authEnv, bearer } from '../utils/auth';
import { ServiceProcess, freePort } from '../utils/service-process';
import { SERVICES, describeWith } from '../utils/services';
import { TcpProxy } from '../utils/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';
/** what readiness promises whatever hangs */
const READY_DEADLINE_MS = 2000;
/** the service runs with these, so a locked table is given up on quickly */
const LOCK_TIMEOUT_MS = 2000;
const ACQUIRE_TIMEOUT_MS = 3000;
/** process start-up on a shared 2-core machine */
const START_TIMEOUT_MS = 90_000;

interface Answer {
  path: string;
  status: number | 'no answer';
  ms: number;
  error?: string;
}

async function timedGet(service: ServiceProcess, path: string, role = true): Promise<Answer> {
  const started = Date.now();
  try {
    const res = await fetch(`${service.baseUrl}${path}`, {
      headers: role ? bearer('viewer') : {},
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await res.json().catch(() => ({}))) as { error?: unknown };
    return {
      path,
      status: res.status,
      ms: Date.now() - started,
      error: typeof body.error === 'string' ? body.error : undefined,
    };
  } catch {
    return { path, status: 'no answer', ms: Date.now() - started };
  }
}

/** Calls `path` back to back until `until` resolves; every answer is kept. */
async function hammer(
  service: ServiceProcess,
  paths: string[],
  until: Promise<void>,
): Promise<Answer[]> {
  let done = false;
  void until.then(() => (done = true));
  const answers: Answer[] = [];
  while (!done) {
    for (const path of paths) answers.push(await timedGet(service, path));
    await new Promise((r) => setTimeout(r, 50));
  }
  return answers;
}

/** npm as installed next to this node (what `npm start` runs) */
const NPM_CLI = join(dirname(process.execPath), '../lib/node_modules/npm/bin/npm-cli.js');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How long the slow route takes in the shutdown test. */
const SLOW_ANSWER_MS = 300;

/** A client that sends GET path every 50 ms over one kept-alive socket, as a load balancer does. */
class KeepAlivePoller {
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  readonly sockets = new Set<unknown>();
  readonly answers: { sentAt: number; status: number | 'no answer' }[] = [];
  private polling = true;
  private readonly loop: Promise<void>;

  constructor(service: ServiceProcess, path: string) {
    const headers = bearer('viewer');
    this.loop = (async () => {
      while (this.polling) {
        const sentAt = Date.now();
        const status = await new Promise<number | 'no answer'>((resolve) => {
          const req = http.get(
            `${service.baseUrl}${path}`,
            { agent: this.agent, headers },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('socket', (s) => this.sockets.add(s));
          req.on('error', () => resolve('no answer'));
        });
        this.answers.push({ sentAt, status });
        await sleep(50);
      }
    })();
  }

  async stop(): Promise<void> {
    this.polling = false;
    await this.loop;
    this.agent.destroy();
  }
}

describeWith(
  ['postgres', 'redis', 'rabbitmq'],
  'failing dependencies on PostgreSQL: deadlines, not stalls',
  () => {
    let db: TestDatabase;
    let redisProxy: TcpProxy;
    let service: ServiceProcess;

    beforeAll(async () => {
      db = await createTestDatabase({ migrated: true });
      redisProxy = new TcpProxy(SERVICES.redis.host, SERVICES.redis.port);
      await redisProxy.start();
      service = new ServiceProcess({
        PORT: freePort(),
        DATABASE_URL: db.url,
        REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
        RABBITMQ_URL: SERVICES.rabbitmq.url,
        RUN_MIGRATIONS: 'false',
        LEADER_LOCK_KEY: `test:e2e:deadlines:${randomBytes(6).toString('hex')}`,
        // small, so that statements stuck on the lock would fill it if nothing let go
        DATABASE_POOL_SIZE: '6',
        DATABASE_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS),
        DATABASE_STATEMENT_TIMEOUT_MS: '5000',
        DATABASE_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS),
        ...authEnv(),
      }).start();
      await service.waitFor(`${API}/health/ready`, START_TIMEOUT_MS);
    });

    afterAll(async () => {
      await service?.stop('SIGKILL');
      await redisProxy?.cut();
      await db?.drop();
    });

    it('with the executions table locked elsewhere, routes that do not read it answer 200 and those that do a 503 within the lock timeout', async () => {
      const locker = new Client({ connectionString: db.url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE orchestrator_executions IN ACCESS EXCLUSIVE MODE');
      const held = sleep(10_000);
      let readers: Answer[][];
      let others: Answer[];
      try {
        // four dashboards polling the history: more waiting statements than the pool could
        // hold for long, if a waiting statement kept its connection until the lock went
        [others, ...readers] = await Promise.all([
          hammer(
            service,
            [`${API}/workflows`, `${API}/health/live`, `${API}/leader`, `${API}/health/ready`],
            held,
          ),
          ...Array.from({ length: 4 }, () =>
            hammer(service, [`${API}/executions`, `${API}/executions/failed`], held),
          ),
        ]);
      } finally {
        await locker.query('ROLLBACK');
        await locker.end();
      }

      const reads = readers.flat();
      process.stdout.write(
        `table lock: ${others.length} other answers, slowest ${Math.max(...others.map((x) => x.ms))} ms; ` +
          `${reads.length} history answers, slowest ${Math.max(...reads.map((x) => x.ms))} ms\n`,
      );
      expect(others.length).toBeGreaterThan(20);
      expect(others.filter((a) => a.status !== 200)).toEqual([]);
      expect(Math.max(...others.map((a) => a.ms))).toBeLessThan(READY_DEADLINE_MS);

      expect(reads.length).toBeGreaterThan(8);
      expect(reads.filter((a) => a.status !== 503 || a.error !== 'DATABASE_UNAVAILABLE')).toEqual(
        [],
      );
      expect(Math.max(...reads.map((a) => a.ms))).toBeLessThan(
        LOCK_TIMEOUT_MS + ACQUIRE_TIMEOUT_MS + 1500,
      );

      expect((await timedGet(service, `${API}/executions`)).status).toBe(200);
    });

    it('with Redis accepting connections and never answering, readiness says 503 within 2 s and API reads still answer 200', async () => {
      redisProxy.blackhole();
      try {
        for (let i = 0; i < 3; i++) {
          const started = Date.now();
          const ready = await service.get(`${API}/health/ready`);
          const ms = Date.now() - started;
          expect(ready.status).toBe(503);
          expect(ready.body.error.redis).toEqual(expect.objectContaining({ status: 'down' }));
          expect(ms).toBeLessThan(READY_DEADLINE_MS);
          process.stdout.write(`blackholed Redis: readiness 503 in ${ms} ms\n`);
        }
        for (const path of [`${API}/workflows`, `${API}/executions`, `${API}/leader`]) {
          const answer = await timedGet(service, path);
          expect(answer).toEqual(expect.objectContaining({ path, status: 200 }));
          expect(answer.ms).toBeLessThan(READY_DEADLINE_MS);
        }
      } finally {
        await redisProxy.cut();
      }
    });
  },
);

describeWith(['postgres', 'redis', 'rabbitmq'], 'SIGTERM with a keep-alive client', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('goes not-ready, lets clients polling every 50 ms over kept-alive sockets go, and exits 0 in under 2 s', async () => {
    const service = new ServiceProcess({
      PORT: freePort(),
      DATABASE_URL: db.url,
      REDIS_URL: SERVICES.redis.url,
      RABBITMQ_URL: SERVICES.rabbitmq.url,
      RUN_MIGRATIONS: 'false',
      LEADER_LOCK_KEY: `test:e2e:sigterm:${randomBytes(6).toString('hex')}`,
      DATABASE_LOCK_TIMEOUT_MS: String(SLOW_ANSWER_MS),
      ...authEnv(),
    }).start();
    const locker = new Client({ connectionString: db.url });
    try {
      await service.waitFor(`${API}/health/ready`, START_TIMEOUT_MS);
      // the history route then takes SLOW_ANSWER_MS (it waits for the lock, then gives up):
      // its client almost always has a request in flight when the listener closes, the
      // case where Node keeps a kept-alive socket open for as long as the client talks
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE orchestrator_executions IN ACCESS EXCLUSIVE MODE');
      const ready = new KeepAlivePoller(service, `${API}/health/ready`);
      // three of them: the chance that none has a request in flight at that instant is well under 1 %
      const slow = [1, 2, 3].map(() => new KeepAlivePoller(service, `${API}/executions`));
      await sleep(1500);
      const socketsBeforeSignal = [ready, ...slow].map((p) => p.sockets.size);
      const answersBeforeSignal = [ready, ...slow].map((p) => p.answers.length);

      const signalledAt = Date.now();
      const exit = await service.stop('SIGTERM');
      await Promise.all([ready, ...slow].map((p) => p.stop()));
      process.stdout.write(
        `SIGTERM with keep-alive pollers: exit ${exit.code} after ${exit.ms} ms\n`,
      );

      // every client really was reusing one kept-alive socket
      expect(socketsBeforeSignal).toEqual([1, 1, 1, 1]);
      expect(answersBeforeSignal[0]).toBeGreaterThanOrEqual(8);
      expect(Math.min(...answersBeforeSignal.slice(1))).toBeGreaterThanOrEqual(1);
      expect(exit).toEqual(expect.objectContaining({ code: 0, signal: null }));
      expect(exit.ms).toBeLessThan(2000);
      // once the signal is handled, nobody is told this instance is ready
      const late = ready.answers.filter((a) => a.sentAt >= signalledAt + 100);
      expect(late.filter((a) => a.status === 200)).toEqual([]);
    } finally {
      await locker.end().catch(() => undefined);
      await service.stop('SIGKILL');
    }
  });

  it('through `npm start`, SIGTERM to npm stops the service (exit 0) and leaves no node behind', async () => {
    const service = new ServiceProcess(
      {
        PORT: freePort(),
        DATABASE_URL: db.url,
        RUN_MIGRATIONS: 'false',
        ENABLE_LEADER_ELECTION: 'false',
        ...authEnv(),
      },
      NPM_CLI,
      ['start', '--silent'],
    ).start();
    try {
      await service.waitFor(`${API}/health/live`, START_TIMEOUT_MS);
      const exit = await service.stop('SIGTERM');
      expect(exit).toEqual(expect.objectContaining({ code: 0, signal: null }));
      expect(exit.ms).toBeLessThan(5000);
      // the port is free again: the node process npm started is gone, not orphaned
      const after = await timedGet(service, `${API}/health/live`, false);
      expect(after.status).toBe('no answer');
    } finally {
      await service.stop('SIGKILL');
    }
  });
});
