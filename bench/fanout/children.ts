/**
 * The processes bench:fanout starts beside itself: the raw floor (floor.js) before and after
 * the service's run, further service instances (instance.js) that share its PostgreSQL, and
 * with --rounds, whole rounds (main.js).
 * Each runs compiled from dist-bench with this process's V8 flags, so the figures compare.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { processCpuS } from '../machine';

// dist-bench/bench/fanout -> dist-bench: where tsconfig-paths maps `src/*` in the children
const DIST_ROOT = join(__dirname, '../..');

export function spawnCompiled(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, join(__dirname, script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, TS_NODE_BASEURL: DIST_ROOT },
  });
}

/** The load average as /proc/loadavg gives it (1, 5, 15 minutes): noise to read figures by. */
export function loadAverage(): number[] {
  return loadavg().map((n) => +n.toFixed(2));
}

/** What bench:floor --client raw reported, with the load average when it started. */
export interface FloorReport {
  wall_s: number;
  cpu_s: number;
  cpu_ms_per_1000_steps: number;
  failed_tenants: number;
  duplicates: number;
  missing: number;
  load_average: number[];
  [figure: string]: unknown;
}

/** Runs `bench:floor --client raw` with the same shape of work in a child and returns its report. */
export function runRawFloor(tenants: number, latencyMs: number, concurrency: number) {
  const load = loadAverage();
  const child = spawnCompiled(
    'floor.js',
    [
      ...['--tenants', String(tenants), '--latency-ms', String(latencyMs)],
      ...['--concurrency', String(concurrency), '--client', 'raw'],
    ],
    {},
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<FloorReport>((resolve, reject) => {
    child.once('exit', (code) => {
      try {
        // a floor with duplicates or failures exits 1 but still reports: the caller judges
        resolve({ ...(JSON.parse(out) as FloorReport), load_average: load });
      } catch {
        reject(new Error(`bench:floor --client raw exited with ${code} without a report:\n${err}`));
      }
    });
  });
}

/** A second (third...) service process on the same database, running tenant work. */
export interface InstanceChild {
  /** its dispatcher's owner id, as `executed_by_instance` records it */
  owner: string;
  pid: number;
  cpuS(): number;
  /** stops it (SIGTERM: hands work back, closes) and returns its peak RSS in MB */
  stop(): Promise<{ peak_rss_mb: number }>;
}

/** Starts bench/fanout/instance.js with the raw environment given; resolves once it runs. */
export function startInstance(rawEnv: Record<string, string>): Promise<InstanceChild> {
  const child = spawnCompiled('instance.js', [], { BENCH_SERVICE_ENV: JSON.stringify(rawEnv) });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`service instance exited with ${code} before it ran:\n${err}`)),
    );
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      // the service may print other lines first (the generated admin token)
      const ready = /^ready (\S+)\n/m.exec(out);
      if (!ready) return;
      child.stdout!.removeAllListeners('data');
      child.removeAllListeners('exit');
      out = out.slice(ready.index + ready[0].length);
      child.stdout!.on('data', (more: Buffer) => (out += more.toString()));
      resolve({
        owner: ready[1],
        pid: child.pid!,
        cpuS: () => processCpuS(child.pid!),
        stop: () =>
          new Promise((done, fail) => {
            child.once('exit', (code) => {
              try {
                done(JSON.parse(out) as { peak_rss_mb: number });
              } catch {
                fail(new Error(`service instance exited with ${code} without a report:\n${err}`));
              }
            });
            child.kill('SIGTERM');
          }),
      });
    });
  });
}
