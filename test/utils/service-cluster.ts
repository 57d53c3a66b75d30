import { Client } from 'pg';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { ServiceProcess, freePort, serviceEnv } from './service-process';
import { createTestDatabase, TestDatabase } from './test-db';

const LIVE = '/api/v1/orchestrator/health/live';

/**
 * What the multi-process scheduling suites share: a migrated test database, the simulator,
 * a direct client to the database, and `dist/main.js` processes started on them with one
 * environment. `close` kills every process (SIGKILL) and drops the rest.
 */
export interface ServiceCluster {
  db: TestDatabase;
  sim: RunningSimulator;
  pg: Client;
  /** A process on its own port, `extra` over the cluster's environment, once it answers. */
  start(extra?: Record<string, string>): Promise<ServiceProcess>;
  /** PostgreSQL's clock, in epoch ms: the one the claim compares slots with. */
  databaseNow(): Promise<number>;
  close(): Promise<void>;
}

export async function startServiceCluster(opts: {
  tenants: number;
  latencyMs: number;
  env: Record<string, string>;
}): Promise<ServiceCluster> {
  const db = await createTestDatabase({ migrated: true });
  const sim = await startSimulator({ port: 0, tenants: opts.tenants, latencyMs: opts.latencyMs });
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  const env = serviceEnv(db.url, sim.url, opts.env);
  const processes: ServiceProcess[] = [];
  return {
    db,
    sim,
    pg,
    async start(extra = {}) {
      const p = new ServiceProcess({ ...env, PORT: freePort(), ...extra }).start();
      processes.push(p);
      await p.waitFor(LIVE);
      return p;
    },
    async databaseNow() {
      return ((await pg.query(`SELECT now() AS now`)).rows[0].now as Date).getTime();
    },
    async close() {
      for (const p of processes) await p.stop('SIGKILL');
      await pg.end();
      await sim.close();
      await db.drop();
    },
  };
}
