/** Machine and process figures the benches report (from /proc), and a CPU profiler for a run. */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { GCProfiler, type GCProfilerResult, type HeapSpaceStatistics } from 'node:v8';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The median (to three decimals), minimum and maximum of several rounds' figure. */
export function spread(values: number[]): { median: number; min: number; max: number } {
  return { median: +median(values).toFixed(3), min: Math.min(...values), max: Math.max(...values) };
}

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

/** What both fan-out benches report about the machine while the calls ran. */
export interface RunFigures {
  cpu_s: number;
  cpu_system_s: number;
  cpu_ms_per_1000_steps: number;
  /** the other processes on the same cores: the simulator, and the rest (mostly PostgreSQL) */
  machine_cpu: { busy_s: number; idle_s: number; simulator_s: number; others_s: number };
  /** main threads: seconds on a CPU / seconds ready but waiting for one */
  main_thread_s: {
    bench: { run: number; runqueue_wait: number };
    simulator: { run: number; runqueue_wait: number };
  };
  event_loop_delay_ms: { mean: number; p99: number };
  /**
   * this process's garbage collections: young-generation ones (scavenges), full ones (mark
   * and compact), their time, and what the scavenges promoted to the old generation. Much
   * promoted means short-lived objects were kept alive past their use (see
   * src/common/collections/live-list.ts), and full GCs follow.
   */
  gc: {
    scavenges: number;
    scavenge_ms: number;
    full: number;
    full_ms: number;
    promoted_mb: number;
  };
}

const OLD_SPACES = new Set(['old_space', 'code_space', 'large_object_space']);
const oldUsed = (spaces: HeapSpaceStatistics[]) =>
  spaces.reduce((sum, s) => sum + (OLD_SPACES.has(s.spaceName) ? s.spaceUsedSize : 0), 0);

/** Sums a GCProfiler's record by kind of collection. */
function gcFigures(result: GCProfilerResult | undefined): RunFigures['gc'] {
  const figures = { scavenges: 0, scavenge_ms: 0, full: 0, full_ms: 0, promoted_mb: 0 };
  let promoted = 0;
  for (const gc of result?.statistics ?? []) {
    if (gc.gcType === 'Scavenge' || gc.gcType === 'MinorMarkSweep') {
      figures.scavenges++;
      figures.scavenge_ms += gc.cost / 1000;
      promoted += Math.max(
        0,
        oldUsed(gc.afterGC.heapSpaceStatistics) - oldUsed(gc.beforeGC.heapSpaceStatistics),
      );
    } else if (gc.gcType === 'MarkSweepCompact') {
      figures.full++;
      figures.full_ms += gc.cost / 1000;
    }
  }
  figures.scavenge_ms = Math.round(figures.scavenge_ms);
  figures.full_ms = Math.round(figures.full_ms);
  figures.promoted_mb = Math.round(promoted / 1e6);
  return figures;
}

/** Starts measuring this process, the simulator's and the machine's; `stop` returns the figures. */
export function startMeasuring(simulatorPid: number): { stop(steps: number): RunFigures } {
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const gcProfiler = new GCProfiler();
  gcProfiler.start();
  const cpu0 = process.cpuUsage();
  const ticks0 = { self: processCpuS(process.pid), sim: processCpuS(simulatorPid) };
  const machine0 = machineCpuS();
  const sched0 = { self: mainThreadSchedS(process.pid), sim: mainThreadSchedS(simulatorPid) };
  const s2 = (n: number) => +n.toFixed(2);
  return {
    stop(steps: number): RunFigures {
      loopDelay.disable();
      const gc = gcFigures(gcProfiler.stop());
      const cpu = process.cpuUsage(cpu0);
      const ticks = {
        self: processCpuS(process.pid) - ticks0.self,
        sim: processCpuS(simulatorPid) - ticks0.sim,
      };
      const machine1 = machineCpuS();
      const sched1 = { self: mainThreadSchedS(process.pid), sim: mainThreadSchedS(simulatorPid) };
      const busy = machine1.busy - machine0.busy;
      const cpuS = (cpu.user + cpu.system) / 1e6;
      return {
        cpu_s: s2(cpuS),
        cpu_system_s: s2(cpu.system / 1e6),
        cpu_ms_per_1000_steps: +((cpuS * 1e6) / steps).toFixed(1),
        machine_cpu: {
          busy_s: s2(busy),
          idle_s: s2(machine1.idle - machine0.idle),
          simulator_s: s2(ticks.sim),
          // the same tick accounting on both sides of the subtraction
          others_s: s2(busy - ticks.sim - ticks.self),
        },
        main_thread_s: {
          bench: {
            run: s2(sched1.self.run - sched0.self.run),
            runqueue_wait: s2(sched1.self.wait - sched0.self.wait),
          },
          simulator: {
            run: s2(sched1.sim.run - sched0.sim.run),
            runqueue_wait: s2(sched1.sim.wait - sched0.sim.wait),
          },
        },
        event_loop_delay_ms: {
          mean: +(loopDelay.mean / 1e6).toFixed(1),
          p99: +(loopDelay.percentile(99) / 1e6).toFixed(1),
        },
        gc,
      };
    },
  };
}
