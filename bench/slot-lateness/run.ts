/**
 * Slot lateness: how long after its time each slot of a per-second workflow becomes a run.
 * One in-process instance on PostgreSQL: the real scheduler (SystemClock, timer to the
 * nearest slot, 1 s re-check) hands slots to the real engine (workflows + executions
 * facades), which also runs the tenant work against in-process fakes, as a leader does.
 *
 *   npx ts-node --transpile-only -r tsconfig-paths/register bench/slot-lateness/run.ts
 *
 * Env: SLOTS (100), TENANTS per run (10), WARMUP slots ignored first (3). Lateness of a slot:
 * - created: the run's created_at (set by PostgreSQL when startRun inserts it) - scheduled_for
 * - started: when startRun returned to the scheduler - scheduled_for
 * Needs PostgreSQL on 127.0.0.1 as the tests do; uses a fresh database.
 */
import { Logger } from '@nestjs/common';
import { SystemClock } from 'src/common/time/clock';
import { FakeLeaderGate } from '../../test/fakes/fake-leader-gate';
import {
  ExecutionsFacadeAdapter,
  WorkflowsFacadeAdapter,
} from 'src/scheduling/scheduling.adapters';
import { FakeScheduleTenants } from '../../test/fakes/scheduling.fakes';
import {
  SchedulerSettings,
  WorkflowSchedulerService,
} from 'src/scheduling/workflow-scheduler.service';
import { FakeDownstream, FakeTenantDirectory, makeTenants } from '../../test/fakes/fake-downstream';
import { startEngine, waitUntil } from '../../test/utils/engine-harness';
import globalSetup from '../../test/utils/global-setup';
import { createTestDatabase } from '../../test/utils/test-db';

const SLOTS = Number(process.env.SLOTS ?? 100);
const TENANTS = Number(process.env.TENANTS ?? 10);
const WARMUP = Number(process.env.WARMUP ?? 3);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(name: string, values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const f = (v: number) => `${v.toFixed(1)} ms`;
  return `| ${name} | ${s.length} | ${f(percentile(s, 50))} | ${f(percentile(s, 90))} | ${f(percentile(s, 99))} | ${f(s[s.length - 1])} |`;
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  await globalSetup();
  const db = await createTestDatabase({ migrated: true });
  const engine = await startEngine({
    databaseUrl: db.url,
    downstream: new FakeDownstream(5),
    tenants: new FakeTenantDirectory(makeTenants(TENANTS)),
    env: { LOG_LEVEL: 'error' },
  });
  const ds = engine.dataSource;
  await ds.query(`UPDATE orchestrator_workflows SET is_enabled = FALSE`);
  await ds.query(
    `INSERT INTO orchestrator_leader (id, instance_id, became_leader_at, last_heartbeat_at, term)
     VALUES (1, 'bench', NOW(), NOW(), 1)`,
  );
  const [{ id }] = await ds.query(
    `INSERT INTO orchestrator_workflows (workflow_name, workflow_type, cron_expression, timezone, steps, overlap_policy)
     VALUES ('per_second_bench', 'hourly', '* * * * * *', 'Europe/Madrid', $1, 'allow') RETURNING id`,
    [JSON.stringify([{ name: 'generate_forecasts', operation: 'forecasting.generate' }])],
  );

  const startedAt = new Map<number, number>();
  const executions = new ExecutionsFacadeAdapter(engine.executions, engine.queries);
  const startRun = executions.startRun.bind(executions);
  executions.startRun = async (req, within) => {
    const result = await startRun(req, within);
    startedAt.set(req.scheduledFor.getTime(), Date.now());
    return result;
  };
  const scheduler = new WorkflowSchedulerService(
    new FakeLeaderGate('1'),
    new WorkflowsFacadeAdapter(engine.workflows),
    executions,
    new FakeScheduleTenants([]),
    new SystemClock(),
    new SchedulerSettings({ autoStart: false, allowSecondsCron: true, recheckMs: 1000 }),
  );

  console.log(
    `per-second workflow, ${TENANTS} tenants per run, ${SLOTS} slots after ${WARMUP} warm-up slots...`,
  );
  scheduler.start();
  const rows = await waitUntil(
    async () => {
      const r = await ds.query(
        `SELECT scheduled_for, created_at FROM orchestrator_executions
          WHERE workflow_id = $1 AND tenant_id IS NULL ORDER BY scheduled_for`,
        [id],
      );
      return r.length >= SLOTS + WARMUP && r;
    },
    (SLOTS + WARMUP) * 1000 + 30_000,
    200,
  );
  scheduler.stop();
  const measured = (rows as { scheduled_for: Date; created_at: Date }[]).slice(
    WARMUP,
    WARMUP + SLOTS,
  );
  const seconds = measured.map((r) => r.scheduled_for.getTime());
  const gaps = seconds.slice(1).filter((t, i) => t - seconds[i] !== 1000).length;
  const created = measured.map((r) => r.created_at.getTime() - r.scheduled_for.getTime());
  const started = measured.map(
    (r) => startedAt.get(r.scheduled_for.getTime())! - r.scheduled_for.getTime(),
  );

  console.log('\n| lateness | slots | p50 | p90 | p99 | max |');
  console.log('| -------- | ----- | --- | --- | --- | --- |');
  console.log(summary('run created (created_at)', created));
  console.log(summary('startRun returned', started));
  console.log(`\nslots not one second apart (missed or doubled): ${gaps}`);
  console.log(`slots later than 1 s: ${created.filter((ms) => ms >= 1000).length}`);

  await engine.close();
  await db.drop();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
