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
import { ROUTE_PATHS } from 'tools/simulator/routes';
import {
  CRITICAL_PATH_STEPS,
  DAILY_OPERATIONS,
  DAILY_OPS,
  intArg,
  journalSummary,
  spawnFanoutSimulator,
  UsageError,
  textArg,
} from './shared';
import { startMeasuring, startProfiler } from '../machine';

const TOKEN = 'bench-floor';

type Step = (
  tenantId: string,
  params: Record<string, unknown>,
  previous: Record<string, unknown>,
) => Promise<unknown>;

/** undici directly: one keep-alive Pool per service, as HttpCore keeps them. */
function rawSteps(url: string, runId: string, concurrency: number): (op: string) => Step {
  const pools = new Map<string, Pool>();
  // what the clients add to `{tenant_id, ...params}` for these operations
  const extra: Record<string, object> = {
    'forecasting.validate': { orchestration_run_id: runId },
    'notification.daily_summary': { orchestration_run_id: runId, summary: {} },
  };
  return (op) => {
    const path = ROUTE_PATHS[op];
    if (!path) throw new Error(`--client raw: the simulator has no route for ${op}`);
    const service = op.slice(0, op.indexOf('.'));
    if (!pools.has(service))
      pools.set(service, new Pool(url, { connections: concurrency, pipelining: 1 }));
    const pool = pools.get(service)!;
    return async (tenantId, params) => {
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
        body: JSON.stringify({ tenant_id: tenantId, ...params, ...extra[op] }),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`${op}: ${res.statusCode} ${text}`);
      return JSON.parse(text);
    };
  };
}

/** The service's clients and operation registry, called as TenantRunner calls them. */
function clientSteps(http: HttpCore, runId: string): (op: string) => Step {
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
  return (op) => (tenantId, params, previous) =>
    registry.run(op, {
      tenant: { id: tenantId },
      executionId: tenantId,
      runId,
      stepName: op,
      params,
      previousResults: { ...previous },
      signal,
      idempotencyKey: `${runId}:${tenantId}:${op}`,
    });
}

async function main(): Promise<void> {
  const tenants = intArg('tenants', 10000);
  const latencyMs = intArg('latency-ms', 20, 0);
  const concurrency = intArg('concurrency', 100);
  const client = textArg('client', 'raw');
  if (client !== 'raw' && client !== 'clients')
    throw new UsageError(`--client must be raw or clients, got "${client}"`);

  const sim = await spawnFanoutSimulator(tenants, latencyMs, ['--token', TOKEN]);
  const http = new HttpCore({
    token: TOKEN,
    services: SERVICE_NAMES.map((name) => ({ name, baseUrl: sim.url })),
    maxConcurrency: concurrency,
  });
  const ids = (await new TenantClient(http).listTenants(['active'])).map((t) => t.id);
  await fetch(`${sim.url}/__sim/reset`, { method: 'POST' });

  const runId = randomUUID();
  const step = client === 'raw' ? rawSteps(sim.url, runId, concurrency) : clientSteps(http, runId);
  // daily_operations from the catalogue: a step starts once the steps it depends on are done
  const definition = DAILY_OPERATIONS.steps.map((s) => ({
    ...s,
    call: step(s.operation),
  }));
  const byName = new Map(definition.map((s) => [s.name, s]));
  const runTenant = async (id: string) => {
    const results: Record<string, unknown> = {};
    const started = new Map<string, Promise<void>>();
    const start = (s: (typeof definition)[number]): Promise<void> => {
      let done = started.get(s.name);
      if (!done) {
        done = Promise.all((s.depends_on ?? []).map((d) => start(byName.get(d)!))).then(
          async () => {
            results[s.name] = await s.call(id, s.params ?? {}, results);
          },
        );
        started.set(s.name, done);
      }
      return done;
    };
    await Promise.all(definition.map(start));
  };

  const profiler = process.env.BENCH_PROFILE ? await startProfiler() : null;
  const measuring = startMeasuring(sim.process.pid!);
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
  const figures = measuring.stop(tenants * DAILY_OPS.length);
  if (profiler) await profiler.stop(process.env.BENCH_PROFILE!);
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
    ...figures,
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
  process.stderr.write(
    err instanceof UsageError ? `${err.message}\n` : `bench failed: ${err.stack ?? err.message}\n`,
  );
  process.exit(err instanceof UsageError ? 2 : 1);
});
