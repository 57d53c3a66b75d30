import { serviceUrls } from 'src/config/env.schema';
/**
 * bench/fanout: N simulated tenants x daily_operations against the simulator (own
 * process) at a fixed latency, C tenants in flight, on real PostgreSQL. Reports wall time
 * against the ideal (tenants x critical-path steps x latency / concurrency), CPU per
 * 1,000 steps, peak RSS, rows written, and duplicate or missing calls from the journal.
 *
 *   npm run bench:fanout -- --tenants 10000 --latency-ms 20 --concurrency 100
 */
import 'reflect-metadata';

// compiled and run from dist-bench (npm run bench:fanout), so the figures are the service's
// own, not ts-node's; the simulator child must not inherit the path mapping
delete process.env.TS_NODE_BASEURL;
import { NestFactory } from '@nestjs/core';
import { createBenchDatabase } from '../bench-database';
import {
  CRITICAL_PATH_STEPS,
  DAILY_OPS,
  intArg,
  journalSummary,
  spawnFanoutSimulator,
  UsageError,
} from './shared';
import { startMeasuring, startProfiler } from '../machine';
import { AppModule } from 'src/app.module';
import { validateEnv } from 'src/config/validate-env';
import { buildDataSourceOptions } from 'src/database/data-source';
import { ExecutionCommandsService } from 'src/executions/execution-commands.service';
import { ExecutionQueriesService } from 'src/executions/execution-queries.service';
import { ExecutionDispatcher } from 'src/executions/runner/execution-dispatcher';
import { StateWriter } from 'src/executions/runner/state-writer';
import { DataSource } from 'typeorm';

async function main(): Promise<void> {
  const tenants = intArg('tenants', 10000);
  const latencyMs = intArg('latency-ms', 20, 0);
  const concurrency = intArg('concurrency', 100);
  const database = await createBenchDatabase('orch_bench');
  const dbUrl = new URL(database.url);

  const sim = await spawnFanoutSimulator(tenants, latencyMs);
  const urls = serviceUrls(sim.url);
  const env = validateEnv({
    DATABASE_URL: dbUrl.toString(),
    LOG_LEVEL: 'warn',
    ENABLE_LEADER_ELECTION: 'false',
    EXECUTION_CONCURRENCY: String(concurrency),
    ...urls,
  });

  let peakRss = 0;
  // tenants in flight, sampled while the run goes: below --concurrency means slots stood empty
  let dispatcher: ExecutionDispatcher | null = null;
  const inFlight = { sum: 0, samples: 0 };
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    if (dispatcher) {
      inFlight.sum += dispatcher.running;
      inFlight.samples++;
    }
  }, 50);
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(env), {
    logger: ['error', 'warn'],
  });
  await app.init();
  const executions = app.get(ExecutionCommandsService);
  const queries = app.get(ExecutionQueriesService);
  const writer = app.get(StateWriter);
  await fetch(`${sim.url}/__sim/reset`, { method: 'POST' });

  const profiler = process.env.BENCH_PROFILE ? await startProfiler() : null;
  const measuring = startMeasuring(sim.process.pid!);
  const t0 = performance.now();
  dispatcher = app.get(ExecutionDispatcher);
  const run = await executions.executeManually(
    'daily_operations',
    { allow_concurrent: true },
    null,
  );
  const id = (run as { execution_id: string }).execution_id;
  const startS = (performance.now() - t0) / 1000;
  let progress = await queries.progress(id);
  while (progress.status === 'running') {
    await new Promise((r) => setTimeout(r, 250));
    progress = await queries.progress(id);
    const done = (progress.by_status.completed ?? 0) + (progress.by_status.failed ?? 0);
    process.stderr.write(
      `\r  ${done}/${progress.tenants_total} tenants, ${((performance.now() - t0) / 1000).toFixed(1)} s, ` +
        `rss ${Math.round(process.memoryUsage.rss() / 1048576)} MB, heap ${Math.round(process.memoryUsage().heapUsed / 1048576)} MB   `,
    );
  }
  const wallS = (performance.now() - t0) / 1000;
  const figures = measuring.stop(tenants * DAILY_OPS.length);
  dispatcher = null;
  if (profiler) await profiler.stop(process.env.BENCH_PROFILE!);
  clearInterval(sampler);
  process.stderr.write('\n');

  const journal = await journalSummary(sim.url, tenants);

  const ds = new DataSource(
    buildDataSourceOptions({ DATABASE_URL: dbUrl.toString(), DATA_DIR: '' }),
  );
  await ds.initialize();
  const [rows] = await ds.query(`SELECT
      (SELECT count(*) FROM orchestrator_executions)::int AS executions,
      (SELECT count(*) FROM orchestrator_execution_steps)::int AS steps,
      (SELECT count(*) FROM orchestrator_execution_logs)::int AS logs,
      (SELECT count(*) FROM orchestrator_outbox)::int AS outbox`);
  const [txStats] = await ds.query(
    `SELECT xact_commit::int AS commits, tup_inserted::int AS inserted, tup_updated::int AS updated
       FROM pg_stat_database WHERE datname = current_database()`,
  );
  const [timing] = await ds.query(`SELECT
      avg(extract(epoch FROM completed_at - started_at) * 1000)::int AS avg_tenant_ms,
      percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at) * 1000)::int AS p99_tenant_ms
    FROM orchestrator_executions WHERE tenant_id IS NOT NULL`);
  const [stepTiming] = await ds.query(`SELECT
      avg(extract(epoch FROM completed_at - started_at) * 1000)::numeric(10,1) AS avg_step_ms
    FROM orchestrator_execution_steps`);
  await ds.destroy();

  const ideal = (tenants * CRITICAL_PATH_STEPS * latencyMs) / 1000 / concurrency;
  const report = {
    tenants,
    latency_ms: latencyMs,
    concurrency,
    status: progress.status,
    wall_s: +wallS.toFixed(2),
    ideal_s: +ideal.toFixed(2),
    ratio: +(wallS / ideal).toFixed(3),
    run_created_s: +startS.toFixed(2),
    cpu_s: figures.cpu_s,
    cpu_system_s: figures.cpu_system_s,
    cpu_ms_per_1000_steps: figures.cpu_ms_per_1000_steps,
    peak_rss_mb: Math.round(peakRss / 1048576),
    machine_cpu: figures.machine_cpu,
    rows_written: rows,
    main_thread_s: figures.main_thread_s,
    event_loop_delay_ms: figures.event_loop_delay_ms,
    avg_in_flight: +(inFlight.sum / Math.max(1, inFlight.samples)).toFixed(1),
    avg_tenant_ms: timing.avg_tenant_ms,
    p99_tenant_ms: timing.p99_tenant_ms,
    avg_step_ms: Number(stepTiming.avg_step_ms),
    avg_simulator_ms: journal.avgSimulatorMs,
    database_transactions: txStats,
    group_commits: writer.stats.commits,
    avg_commit_ms: +(writer.stats.commitMs / Math.max(1, writer.stats.commits)).toFixed(2),
    // a slow fsync shows here: every tenant finishing meanwhile waits for it
    max_commit_ms: +writer.stats.maxCommitMs.toFixed(1),
    journal_calls: journal.calls,
    duplicates: journal.duplicates,
    missing: journal.missing,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

  await app.close();
  await sim.stop();
  await database.drop();
  process.exit(
    progress.status === 'completed' && journal.duplicates === 0 && journal.missing === 0 ? 0 : 1,
  );
}

main().catch((err: Error) => {
  process.stderr.write(
    err instanceof UsageError ? `${err.message}\n` : `bench failed: ${err.stack ?? err.message}\n`,
  );
  process.exit(err instanceof UsageError ? 2 : 1);
});
