/**
 * bench/delivery-tracking: one delivery-tracking run over N simulated tenants x P purchase
 * orders at a fixed simulator latency (simulator in its own process), on real PostgreSQL,
 * with the one-shot command's Nest context. Two passes: the first records every due alert
 * (and its outbox row); the second finds them all sent (the hourly steady state). Reports
 * wall time, the ideal (tenants / concurrency x latency), CPU of this process per tenant,
 * peak RSS, and checks that the second pass sends nothing.
 *
 *   npx ts-node --transpile-only -r tsconfig-paths/register bench/delivery-tracking/run.ts \
 *     --tenants 1000 --orders 12 --latency-ms 50 --concurrency 50
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) is the server on
 * which a throwaway database is created and dropped. With --rabbitmq the outbox relay runs
 * too (RABBITMQ_URL, default amqp://guest:guest@127.0.0.1:5672), as in the CronJob pod.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { createBenchDatabase } from '../bench-database';
import { validateEnv } from 'src/config/validate-env';
import { DeliveryTrackingCommandModule } from 'src/delivery-tracking/delivery-tracking-command.module';
import {
  DeliveryTrackingOutcome,
  DeliveryTrackingService,
} from 'src/delivery-tracking/delivery-tracking.service';
import { spawnSimulator } from 'tools/simulator';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Pass {
  wallS: number;
  cpuS: number;
  outcome: DeliveryTrackingOutcome;
}

async function main(): Promise<void> {
  const tenants = arg('tenants', 1000);
  const orders = arg('orders', 12);
  const latencyMs = arg('latency-ms', 50);
  const concurrency = arg('concurrency', 50);
  const withRabbit = process.argv.includes('--rabbitmq');
  const database = await createBenchDatabase('orch_bench_delivery');
  const dbUrl = new URL(database.url);

  const sim = await spawnSimulator([
    '--port',
    '0',
    '--tenants',
    String(tenants),
    '--purchase-orders-per-tenant',
    String(orders),
    '--latency-ms',
    String(latencyMs),
    '--all-active',
  ]);
  const env = validateEnv({
    DATABASE_URL: dbUrl.toString(),
    TENANT_SERVICE_URL: sim.url,
    PROCUREMENT_SERVICE_URL: sim.url,
    DELIVERY_TRACKING_CONCURRENCY: String(concurrency),
    LOG_LEVEL: 'warn',
    ...(withRabbit
      ? { RABBITMQ_URL: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672' }
      : {}),
  });

  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const app = await NestFactory.createApplicationContext(
    DeliveryTrackingCommandModule.forRoot(env),
    {
      logger: ['error'],
    },
  );
  const service = app.get(DeliveryTrackingService);

  const pass = async (): Promise<Pass> => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const outcome = await service.run({ trigger: 'manual' });
    const cpu = process.cpuUsage(cpu0);
    return { wallS: (performance.now() - t0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6, outcome };
  };

  try {
    const first = await pass();
    const second = await pass();
    const db = new Client({ connectionString: dbUrl.toString() });
    await db.connect();
    const counts = (
      await db.query(`SELECT (SELECT count(*)::int FROM orchestrator_delivery_alerts) AS alerts,
                             (SELECT count(*)::int FROM orchestrator_outbox) AS outbox`)
    ).rows[0];
    await db.end();

    const ideal = Math.ceil(tenants / concurrency) * (latencyMs / 1000);
    const line = (name: string, p: Pass) => {
      const s = p.outcome.status === 'refused' ? null : p.outcome.summary;
      const alerts = s ? Object.values(s.alerts).reduce((a, b) => a + b, 0) : 0;
      return (
        `${name}: ${p.outcome.status}, wall ${p.wallS.toFixed(2)} s (ideal ${ideal.toFixed(2)} s, x${(p.wallS / ideal).toFixed(2)}), ` +
        `${((p.wallS * 1000) / tenants).toFixed(2)} ms wall/tenant, ${((p.cpuS * 1000) / tenants).toFixed(2)} ms CPU/tenant (this process), ` +
        `tenants ${s?.tenants}, POs ${s?.purchase_orders_checked}, alerts ${alerts}, errors ${s?.errors}`
      );
    };
    process.stdout.write(
      [
        `delivery tracking: ${tenants} tenants x ${orders} POs, simulator latency ${latencyMs} ms, concurrency ${concurrency}, relay ${withRabbit ? 'on' : 'off'}`,
        line('first run (every alert new)', first),
        line('second run (steady state)', second),
        `rows: ${counts.alerts} alerts, ${counts.outbox} outbox events; peak RSS ${(peakRss / 1048576).toFixed(0)} MB`,
        '',
      ].join('\n'),
    );
    const secondAlerts =
      second.outcome.status === 'refused'
        ? -1
        : Object.values(second.outcome.summary.alerts).reduce((a, b) => a + b, 0);
    if (
      first.outcome.status !== 'completed' ||
      second.outcome.status !== 'completed' ||
      secondAlerts !== 0
    ) {
      process.exitCode = 1;
    }
  } finally {
    clearInterval(sampler);
    await app.close();
    await sim.stop();
    await database.drop();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
