/** The machine and process figures both fan-out benches report, and their CPU profiler. */
import { readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used, from /proc. */
export function processCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** The whole machine's busy and idle CPU seconds, from /proc/stat. */
export function machineCpuS(): { busy: number; idle: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = ticks.map(Number);
  const idle = n[3] + n[4];
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / TICKS_PER_S, idle: idle / TICKS_PER_S };
}

/** BENCH_PROFILE=<file>: a CPU profile of the run only (not of start-up), for DevTools. */
export async function startProfiler() {
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) =>
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop(file: string) {
      const { profile } = await post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/**
 * A process's main thread from the scheduler's side (/proc/<pid>/task/<pid>/schedstat):
 * seconds on a CPU, and seconds it was ready to run but waited for one. The wait is what
 * sharing two cores with the simulator and PostgreSQL costs an event loop.
 */
export function mainThreadSchedS(pid: number): { run: number; wait: number } {
  const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
  return { run: run / 1e9, wait: wait / 1e9 };
}
