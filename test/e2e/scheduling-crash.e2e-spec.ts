import { DateTime } from 'luxon';
import { tokenFor } from '../utils/auth';
import { DAILY_OPS } from '../utils/e2e';
import { ServiceCluster, startServiceCluster } from '../utils/service-cluster';
import { describeWith } from '../utils/services';
import { eventually } from '../utils/wait';

const API = '/api/v1/orchestrator';

/**
 * kill -9 between the slot claim and its hand-over (ORCH_TEST_CRASH_AFTER_CLAIM kills the
 * leader inside the claim's transaction): the claim dies with the process, and the next
 * leader runs the slot exactly once.
 */
describeWith(['postgres'], 'a leader killed between claim and hand-over', () => {
  let cluster: ServiceCluster;

  beforeAll(async () => {
    cluster = await startServiceCluster({
      tenants: 4,
      latencyMs: 1,
      env: { RUN_MIGRATIONS: 'false', LEADER_LOCK_TTL_SECONDS: '3', LEADER_HEARTBEAT_SECONDS: '1' },
    });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it('runs the slot once after restart: 1 parent, 1 child per tenant, 1 call per tenant-step', async () => {
    const { pg, sim, start } = cluster;
    // daily_operations' tenant calls only: the service's other workflows may fire meanwhile
    // (alert_cleanup at 03:00 Madrid did, in a run at 02:00 UTC)
    const dailyCalls = () =>
      sim.calls().filter((c) => c.tenant_id !== null && DAILY_OPS.includes(c.operation));
    const crashing = await start({ NODE_ENV: 'test', ORCH_TEST_CRASH_AFTER_CLAIM: 'true' });
    // one slot a day, at the first minute boundary at least 15 s away (database clock)
    const dbNow = await cluster.databaseNow();
    const slot = new Date(Math.ceil((dbNow + 15_000) / 60_000) * 60_000);
    const local = DateTime.fromJSDate(slot, { zone: 'Europe/Madrid' });
    const res = await fetch(`${crashing.baseUrl}${API}/schedule`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${tokenFor('admin')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        workflows: [
          { workflow: 'daily_operations', cron_expression: `${local.minute} ${local.hour} * * *` },
        ],
      }),
    });
    expect(res.status).toBe(200);

    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      crashing.waitForExit(),
      new Promise<null>(
        (r) => (timer = setTimeout(() => r(null), slot.getTime() - Date.now() + 20_000)),
      ),
    ]).finally(() => clearTimeout(timer));
    expect(exit?.signal).toBe('SIGKILL');
    // the claim was rolled back with the process: the slot is still due, nothing was written
    const cursor = await pg.query(
      `SELECT next_execution_at FROM orchestrator_workflows WHERE workflow_name = 'daily_operations'`,
    );
    expect(cursor.rows[0].next_execution_at).toEqual(slot);
    const before = await pg.query(
      `SELECT id FROM orchestrator_executions WHERE workflow_name = 'daily_operations'`,
    );
    expect(before.rows).toEqual([]);
    expect(dailyCalls()).toEqual([]);

    await start();
    const parent = await eventually(async () => {
      const { rows } = await pg.query(
        `SELECT id, status, scheduled_for FROM orchestrator_executions
          WHERE workflow_name = 'daily_operations' AND tenant_id IS NULL AND status = 'completed'`,
      );
      return rows[0];
    }, 30_000);
    expect(parent.scheduled_for).toEqual(slot);

    const { rows: parents } = await pg.query(
      `SELECT id FROM orchestrator_executions
        WHERE workflow_name = 'daily_operations' AND tenant_id IS NULL`,
    );
    expect(parents).toHaveLength(1);
    const active = sim.activeTenants().map((t) => t.id);
    const { rows: children } = await pg.query(
      `SELECT tenant_id, status FROM orchestrator_executions WHERE parent_execution_id = $1`,
      [parent.id],
    );
    expect(children.map((c) => c.tenant_id).sort()).toEqual([...active].sort());
    expect(children.every((c) => c.status === 'completed')).toBe(true);

    const calls = dailyCalls();
    expect(calls).toHaveLength(active.length * DAILY_OPS.length);
    for (const tenant of active) {
      expect(
        calls
          .filter((c) => c.tenant_id === tenant)
          .map((c) => c.operation)
          .sort(),
      ).toEqual([...DAILY_OPS].sort());
    }
  }, 240_000);
});
