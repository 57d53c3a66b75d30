/**
 * Leader failover time with three real service processes (dist/main.js) on PostgreSQL and
 * Redis: kill -9 the leader N times (at a random point of its renewal cycle) and measure
 * until another process answers GET /leader with role "leader"; then the same for SIGTERM
 * (graceful release). Prints each run, the median, min and max.
 *
 *   node scripts/ensure-built.js && npx ts-node --transpile-only bench/leader-failover/run.ts
 *
 * Env: RUNS (5), LEADER_LOCK_TTL_SECONDS (3), LEADER_HEARTBEAT_SECONDS (1). Needs
 * PostgreSQL and Redis on 127.0.0.1 as the tests do; uses a fresh database and its own lock key.
 */
import { randomBytes } from 'node:crypto';
import { authEnv, bearer } from '../../test/utils/auth';
import globalSetup from '../../test/utils/global-setup';
import { ServiceProcess, freePort } from '../../test/utils/service-process';
import { SERVICES } from '../../test/utils/services';
import { createTestDatabase } from '../../test/utils/test-db';
import { median } from '../machine';

const RUNS = Number(process.env.RUNS ?? 5);
const TTL_S = Number(process.env.LEADER_LOCK_TTL_SECONDS ?? 3);
const HEARTBEAT_S = Number(process.env.LEADER_HEARTBEAT_SECONDS ?? 1);
const POLL_MS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface View {
  instance_id: string;
  role: string;
  term: number;
}

async function viewOf(p: ServiceProcess): Promise<View | null> {
  try {
    const res = await p.get('/api/v1/orchestrator/leader', bearer('viewer'));
    return res.status === 200 ? (res.body as View) : null;
  } catch {
    return null;
  }
}

async function waitForLeader(
  processes: ServiceProcess[],
  notInstance: string | null,
  timeoutMs: number,
): Promise<{ process: ServiceProcess; view: View }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const views = await Promise.all(processes.map(viewOf));
    const leaders = views
      .map((view, i) => ({ view, process: processes[i] }))
      .filter((x): x is { view: View; process: ServiceProcess } => x.view?.role === 'leader');
    if (leaders.length > 1)
      throw new Error(`two leaders at once: ${JSON.stringify(leaders.map((l) => l.view))}`);
    if (leaders.length === 1 && leaders[0].view.instance_id !== notInstance) return leaders[0];
    await sleep(POLL_MS);
  }
  throw new Error(`no leader within ${timeoutMs} ms`);
}

async function main(): Promise<void> {
  await globalSetup(); // probes the services and builds the migrated template database
  if (process.env.ORCH_TEST_HAS_POSTGRES !== '1' || process.env.ORCH_TEST_HAS_REDIS !== '1') {
    throw new Error('PostgreSQL and Redis must be reachable on 127.0.0.1');
  }
  const db = await createTestDatabase({ migrated: true });
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: SERVICES.redis.url,
    LEADER_LOCK_KEY: `bench:leader:${randomBytes(6).toString('hex')}`,
    LEADER_LOCK_TTL_SECONDS: String(TTL_S),
    LEADER_HEARTBEAT_SECONDS: String(HEARTBEAT_S),
    RUN_MIGRATIONS: 'false',
    ...authEnv(),
  };
  let processes: ServiceProcess[] = [];
  const startOne = async () => {
    const p = new ServiceProcess({ ...env, PORT: freePort() }).start();
    processes.push(p);
    await p.waitFor('/api/v1/orchestrator/health/live');
  };
  const results: Record<'kill9' | 'sigterm', number[]> = { kill9: [], sigterm: [] };
  try {
    await Promise.all([startOne(), startOne(), startOne()]);
    for (const kind of ['kill9', 'sigterm'] as const) {
      for (let run = 1; run <= RUNS; run++) {
        const old = await waitForLeader(processes, null, 30000);
        // kill at a random point of the renewal cycle, not always right after a renewal
        await sleep(Math.random() * HEARTBEAT_S * 1000);
        const started = Date.now();
        const stopping = old.process.stop(kind === 'kill9' ? 'SIGKILL' : 'SIGTERM');
        processes = processes.filter((p) => p !== old.process);
        const next = await waitForLeader(
          processes,
          old.view.instance_id,
          (TTL_S + HEARTBEAT_S) * 4000,
        );
        const ms = Date.now() - started;
        await stopping;
        results[kind].push(ms);
        console.log(`${kind} run ${run}: ${ms} ms (term ${old.view.term} -> ${next.view.term})`);
        await startOne();
      }
    }
  } finally {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await db.drop();
  }
  const summary = Object.fromEntries(
    Object.entries(results).map(([kind, xs]) => [
      kind,
      { runs: xs, median_ms: median(xs), min_ms: Math.min(...xs), max_ms: Math.max(...xs) },
    ]),
  );
  console.log(
    JSON.stringify({ ttl_s: TTL_S, heartbeat_s: HEARTBEAT_S, poll_ms: POLL_MS, ...summary }),
  );
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
