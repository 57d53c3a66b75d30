/**
 * What the resilient HTTP core costs per call, against the simulator at 0 ms latency.
 *
 *   npx ts-node --transpile-only bench/http-core/run.ts [--calls 20000] [--concurrency 50] [--rounds 3]
 *
 * The simulator runs as its own process so its CPU is not counted as the client's. Each
 * variant makes the same calls (POST forecasting.generate, JSON in and out, keep-alive);
 * the figure that matters is client CPU per call: 1e6 / that = calls per second one core
 * can drive. Variants alternate within each round and the median round is reported.
 */
import { parseArgs } from 'node:util';
import { CircuitState, SamplingBreaker, circuitBreaker, handleAll } from 'cockatiel';
import { Registry } from 'prom-client';
import { Pool } from 'undici';
import { ClientMetrics } from '../../src/clients/http/client-metrics';
import { ConcurrencyLimiter } from '../../src/clients/http/concurrency-limiter';
import { HttpCore } from '../../src/clients/http/http-core';
import { spawnSimulator } from '../../tools/simulator/child';
import { processCpuS } from '../machine';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    tenants: { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
  },
});
const CALLS = Number(values.calls);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

interface Measure {
  variant: string;
  callsPerSecond: number;
  clientCpuUsPerCall: number;
  simulatorCpuUsPerCall: number;
}

type CallFn = (tenantId: string, i: number) => Promise<unknown>;

/** utime + stime of a process in microseconds (Linux /proc; coarse: 10 ms ticks). */
function processCpuUs(pid: number): number {
  try {
    return processCpuS(pid) * 1e6;
  } catch {
    return NaN;
  }
}

async function drive(fn: CallFn, tenants: string[], calls: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      const i = next++;
      await fn(tenants[i % tenants.length], i);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function measure(
  variant: string,
  fn: CallFn,
  tenants: string[],
  simPid: number,
): Promise<Measure> {
  await drive(fn, tenants, Math.min(2000, CALLS)); // warm-up: JIT, sockets
  const cpu0 = process.cpuUsage();
  const sim0 = processCpuUs(simPid);
  const t0 = performance.now();
  await drive(fn, tenants, CALLS);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const sim = processCpuUs(simPid) - sim0;
  return {
    variant,
    callsPerSecond: Math.round((CALLS / ms) * 1000),
    clientCpuUsPerCall: (cpu.user + cpu.system) / CALLS,
    simulatorCpuUsPerCall: sim / CALLS,
  };
}

/** Per-call cost of the pieces in isolation, no I/O: what each layer adds. */
async function microbench(): Promise<Array<{ piece: string; usPerCall: number }>> {
  const N = 200_000;
  const time = async (piece: string, fn: () => Promise<unknown> | unknown) => {
    for (let i = 0; i < 20_000; i++) await fn();
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await fn();
    const d = process.cpuUsage(t0);
    return { piece, usPerCall: (d.user + d.system) / N };
  };
  const breaker = circuitBreaker(handleAll, {
    halfOpenAfter: 10_000,
    breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000, minimumRps: 1 }),
  });
  if (breaker.state !== CircuitState.Closed) throw new Error('breaker not closed');
  const limiter = new ConcurrencyLimiter(100);
  const metrics = new ClientMetrics(new Registry());
  const ok = () => Promise.resolve(1);
  return [
    await time('await Promise.resolve() (baseline)', ok),
    await time('cockatiel circuit breaker execute', () => breaker.execute(ok)),
    await time('concurrency limiter acquire + release', async () => {
      await limiter.acquire(undefined, Infinity, () => new Error());
      limiter.release();
    }),
    await time('metrics: histogram + counter (cached children)', () =>
      metrics.observeAttempt('forecasting', 'forecasting.generate', 'success', 0.001),
    ),
    await time('crypto.randomUUID (X-Request-Id)', () => crypto.randomUUID()),
  ];
}

async function main(): Promise<void> {
  const sim = await spawnSimulator([
    '--port',
    '0',
    '--tenants',
    values.tenants!,
    '--all-active',
    '--latency-ms',
    '0',
    '--journal-limit',
    '200000',
  ]);
  const simPid = sim.process.pid!;
  try {
    const listing = await fetch(`${sim.url}/__sim/tenants`).then(
      (r) => r.json() as Promise<Array<{ id: string }>>,
    );
    const tenants = listing.map((t) => t.id);
    const token = 'bench-token';
    const path = '/api/v1/forecasting/generate';

    const pool = new Pool(sim.url, { connections: 100, pipelining: 1, keepAliveTimeout: 30_000 });
    const rawUndici: CallFn = async (tenantId, i) => {
      const res = await pool.request({
        method: 'POST',
        path,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': `bench-${i}`,
          'x-request-id': crypto.randomUUID(),
        },
        body: JSON.stringify({ tenant_id: tenantId, days_ahead: 7 }),
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      return JSON.parse(text);
    };
    const core = (metrics: ClientMetrics | null) =>
      new HttpCore({
        token,
        services: [{ name: 'forecasting', baseUrl: sim.url }],
        maxConcurrency: 100,
        metrics,
      });
    const bare = core(null);
    const full = core(new ClientMetrics(new Registry()));
    const viaCore =
      (c: HttpCore, timeoutMs = 30_000, withSignal = true): CallFn =>
      (tenantId, i) =>
        c.call({
          service: 'forecasting',
          operation: 'forecasting.generate',
          method: 'POST',
          path,
          body: { tenant_id: tenantId, days_ahead: 7 },
          idempotencyKey: `bench-${i}`,
          timeoutMs,
          signal: withSignal ? workflowSignal : undefined,
        });
    // the engine passes a long-lived workflow signal on every call
    const workflowSignal = new AbortController().signal;
    const globalFetch: CallFn = async (tenantId, i) => {
      const res = await fetch(`${sim.url}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': `bench-${i}`,
        },
        body: JSON.stringify({ tenant_id: tenantId, days_ahead: 7 }),
      });
      return res.json();
    };

    const variants: Array<[string, CallFn]> = [
      ['raw undici Pool.request', rawUndici],
      ['HttpCore, no metrics, no caller signal', viaCore(bare, 30_000, false)],
      ['HttpCore, no metrics', viaCore(bare)],
      ['HttpCore, full (metrics, breaker, limiter)', viaCore(full)],
      ['HttpCore, full, 1 s timeout (own timer)', viaCore(full, 1000)],
      ['global fetch (reference)', globalFetch],
    ];
    const rounds: Measure[][] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const round: Measure[] = [];
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const [name, fn] of order) {
        await fetch(`${sim.url}/__sim/calls`, { method: 'DELETE' });
        round.push(await measure(name, fn, tenants, simPid));
      }
      rounds.push(round);
    }
    const median = variants.map(([name]) => {
      const all = rounds.map((round) => round.find((m) => m.variant === name)!);
      all.sort((a, b) => a.clientCpuUsPerCall - b.clientCpuUsPerCall);
      return all[Math.floor(all.length / 2)];
    });
    const micro = await microbench();
    await Promise.all([pool.close(), bare.close(), full.close()]);

    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ calls: CALLS, concurrency: CONCURRENCY, rounds: ROUNDS, median, micro }, null, 2)}\n`,
      );
      return;
    }
    const raw = median[0].clientCpuUsPerCall;
    const lines = [
      `HTTP core overhead: ${CALLS} calls x ${ROUNDS} rounds, ${CONCURRENCY} in flight, simulator at 0 ms latency (own process), Node ${process.version}`,
      '',
      '| variant | calls/s (wall) | client CPU µs/call | calls/s per client core | vs raw undici | simulator CPU µs/call |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...median.map(
        (m) =>
          `| ${m.variant} | ${m.callsPerSecond} | ${m.clientCpuUsPerCall.toFixed(1)} | ${Math.round(1e6 / m.clientCpuUsPerCall)} | ${
            m === median[0]
              ? '-'
              : `${m.clientCpuUsPerCall - raw >= 0 ? '+' : ''}${(m.clientCpuUsPerCall - raw).toFixed(1)} µs`
          } | ${m.simulatorCpuUsPerCall.toFixed(1)} |`,
      ),
      '',
      '| piece, in isolation (no I/O) | CPU µs/call |',
      '| --- | ---: |',
      ...micro.map((m) => `| ${m.piece} | ${m.usPerCall.toFixed(2)} |`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await sim.stop();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
