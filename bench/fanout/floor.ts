/**
 * bench/fanout floor: the same calls as bench/fanout (daily_operations' six, in its
 * dependency order, C tenants in flight, against the same simulator process) with no
 * engine and no database: what this machine allows before the service adds anything.
 *
 *   npm run bench:floor -- --tenants 10000 --latency-ms 20 --concurrency 100 --client raw
 *
 * --client raw      undici Pool.request, the same headers and bodies the clients send
 * --client clients  the service's own clients: HttpCore (breaker, limiter, metrics) and
 *                   the operation registry, exactly as the engine calls them
 */
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';
import { AlertProcessorClient } from 'src/clients/alert-processor/alert-processor.client';
import { ClientOperationRegistry } from 'src/clients/client-operation-registry';
import { ForecastingClient } from 'src/clients/forecasting/forecasting.client';
import { HttpCore } from 'src/clients/http/http-core';
import { InventoryClient } from 'src/clients/inventory/inventory.client';
import { NotificationClient } from 'src/clients/notification/notification.client';
import { ProcurementClient } from 'src/clients/procurement/procurement.client';
import { ProductionClient } from 'src/clients/production/production.client';
import { SERVICE_NAMES } from 'src/clients/services';
import { TenantClient } from 'src/clients/tenant/tenant.client';
import { TrainingClient } from 'src/clients/training/training.client';
import { SystemClock } from 'src/common/time/clock';
import { spawnSimulator } from 'tools/simulator';
import { CRITICAL_PATH_STEPS, journalSummary } from './journal';
import { machineCpuS, mainThreadSchedS, processCpuS, startProfiler } from './machine';

const TOKEN = 'bench-floor';

type Step = (tenantId: string, previous: Record<string, unknown>) => Promise<unknown>;
type Operation =
  | 'forecasting.generate'
  | 'production.generate_schedule'
  | 'procurement.calculate_needs'
  | 'inventory.project'
  | 'forecasting.validate'
  | 'notification.daily_summary';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

/** undici directly: one keep-alive Pool per service, as HttpCore keeps them. */
function rawSteps(url: string, runId: string, concurrency: number): (op: Operation) => Step {
  const pools = new Map(
    SERVICE_NAMES.map((name) => [name, new Pool(url, { connections: concurrency, pipelining: 1 })]),
  );
  const routes: Record<Operation, [string, string, (t: string) => object]> = {
    'forecasting.generate': [
      'forecasting',
      '/api/v1/forecasting/generate',
      (t) => ({ tenant_id: t, days_ahead: 7 }),
    ],
    'production.generate_schedule': [
      'production',
      '/api/v1/production/schedules/generate',
      (t) => ({ tenant_id: t }),
    ],
    'procurement.calculate_needs': [
      'procurement',
      '/api/v1/procurement/needs/calculate',
      (t) => ({ tenant_id: t, days_ahead: 14 }),
    ],
    'inventory.project': [
      'inventory',
      '/api/v1/inventory/projections/generate',
      (t) => ({ tenant_id: t, days_ahead: 14 }),
    ],
    'forecasting.validate': [
      'forecasting',
      '/api/v1/forecasting/validate',
      (t) => ({ tenant_id: t, orchestration_run_id: runId }),
    ],
    'notification.daily_summary': [
      'notification',
      '/api/v1/notifications/daily-summary',
      (t) => ({ tenant_id: t, orchestration_run_id: runId, summary: {} }),
    ],
  };
  return (op) => {
    const [service, path, body] = routes[op];
    const pool = pools.get(service as (typeof SERVICE_NAMES)[number])!;
    return async (tenantId) => {
      const res = await pool.request({
        method: 'POST',
        path,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'x-request-id': randomUUID(),
          accept: 'application/json',
          'idempotency-key': `${runId}:${tenantId}:${op}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body(tenantId)),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`${op}: ${res.statusCode} ${text}`);
      return JSON.parse(text);
    };
  };
}

/** The service's clients and operation registry, called as TenantRunner calls them. */
function clientSteps(http: HttpCore, runId: string): (op: Operation) => Step {
  const registry = new ClientOperationRegistry(
    new ForecastingClient(http),
    new ProductionClient(http),
    new ProcurementClient(http),
    new InventoryClient(http),
    new NotificationClient(http),
    new TrainingClient(http),
    new AlertProcessorClient(http),
    new SystemClock(),
  );
  const signal = new AbortController().signal;
  return (op) => (tenantId, previous) =>
    registry.run(op, {
      tenant: { id: tenantId },
      executionId: tenantId,
      runId,
      stepName: op,
      params: {},
      previousResults: { ...previous },
      signal,
      idempotencyKey: `${runId}:${tenantId}:${op}`,
    });
}

async function main(): Promise<void> {
  const tenants = Number(arg('tenants', '10000'));
  const latencyMs = Number(arg('latency-ms', '20'));
  const concurrency = Number(arg('concurrency', '100'));
  const client = arg('client', 'raw');
  if (client !== 'raw' && client !== 'clients') throw new Error('--client must be raw or clients');

  const sim = await spawnSimulator([
    '--port',
    '0',
    '--tenants',
    String(tenants),
    '--latency-ms',
    String(latencyMs),
    '--all-active',
    '--journal-limit',
    String(tenants * 10),
    '--token',
    TOKEN,
  ]);
  const http = new HttpCore({
    token: TOKEN,
    services: SERVICE_NAMES.map((name) => ({ name, baseUrl: sim.url })),
    maxConcurrency: concurrency,
  });
  const ids = (await new TenantClient(http).listTenants(['active'])).map((t) => t.id);
  await fetch(`${sim.url}/__sim/reset`, { method: 'POST' });

  const runId = randomUUID();
  const step = client === 'raw' ? rawSteps(sim.url, runId, concurrency) : clientSteps(http, runId);
  const generate = step('forecasting.generate');
  const production = step('production.generate_schedule');
  const procurement = step('procurement.calculate_needs');
  const inventory = step('inventory.project');
  const validate = step('forecasting.validate');
  const summary = step('notification.daily_summary');
  // daily_operations: generate -> (production -> procurement -> inventory | validate) -> summary
  const runTenant = async (id: string) => {
    const results: Record<string, unknown> = {};
    results.generate_forecasts = await generate(id, results);
    await Promise.all([
      (async () => {
        results.calculate_production = await production(id, results);
        results.calculate_procurement = await procurement(id, results);
        results.project_inventory = await inventory(id, results);
      })(),
      (async () => {
        results.validate_forecasts = await validate(id, results);
      })(),
    ]);
    await summary(id, results);
  };

  const profiler = process.env.BENCH_PROFILE ? await startProfiler() : null;
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const cpu0 = process.cpuUsage();
  const sim0 = processCpuS(sim.process.pid!);
  const machine0 = machineCpuS();
  const sched0 = { self: mainThreadSchedS(process.pid), sim: mainThreadSchedS(sim.process.pid!) };
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ids.length) {
        const id = ids[next++];
        await runTenant(id).catch((err: Error) => {
          if (failed++ === 0) process.stderr.write(`first failure: ${err.message}\n`);
        });
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  loopDelay.disable();
  if (profiler) await profiler.stop(process.env.BENCH_PROFILE!);
  const cpu = process.cpuUsage(cpu0);
  const simCpuS = processCpuS(sim.process.pid!) - sim0;
  const machine1 = machineCpuS();
  const sched1 = { self: mainThreadSchedS(process.pid), sim: mainThreadSchedS(sim.process.pid!) };
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const journal = await journalSummary(sim.url, tenants);

  const ideal = (tenants * CRITICAL_PATH_STEPS * latencyMs) / 1000 / concurrency;
  const report = {
    client,
    tenants,
    latency_ms: latencyMs,
    concurrency,
    wall_s: +wallS.toFixed(2),
    ideal_s: +ideal.toFixed(2),
    ratio: +(wallS / ideal).toFixed(3),
    cpu_s: +cpuS.toFixed(2),
    cpu_ms_per_1000_steps: +((cpuS * 1e6) / journal.steps).toFixed(1),
    machine_cpu: {
      busy_s: +(machine1.busy - machine0.busy).toFixed(2),
      idle_s: +(machine1.idle - machine0.idle).toFixed(2),
      // no "others": with no database they are within the tick accounting's error
      simulator_s: +simCpuS.toFixed(2),
    },
    // main threads: seconds on a CPU / seconds ready but waiting for one
    main_thread_s: {
      bench: {
        run: +(sched1.self.run - sched0.self.run).toFixed(2),
        runqueue_wait: +(sched1.self.wait - sched0.self.wait).toFixed(2),
      },
      simulator: {
        run: +(sched1.sim.run - sched0.sim.run).toFixed(2),
        runqueue_wait: +(sched1.sim.wait - sched0.sim.wait).toFixed(2),
      },
    },
    event_loop_delay_ms: {
      mean: +(loopDelay.mean / 1e6).toFixed(1),
      p99: +(loopDelay.percentile(99) / 1e6).toFixed(1),
    },
    avg_simulator_ms: journal.avgSimulatorMs,
    failed_tenants: failed,
    duplicates: journal.duplicates,
    missing: journal.missing,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  await http.close();
  await sim.stop();
  process.exit(failed === 0 && journal.duplicates === 0 && journal.missing === 0 ? 0 : 1);
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
