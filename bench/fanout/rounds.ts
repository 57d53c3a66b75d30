/**
 * bench:fanout --rounds N: the same command N times, each in a fresh process (floor, the
 * service, floor again unless --no-floor), and the medians of what they report. On a
 * shared 2-core machine one round's ratio moves by up to a third with whatever else runs, so a
 * verdict from one round says little near the target; the median and the range of several
 * say how far it is, and how many rounds met it.
 */
import { spread } from '../machine';
import { spawnCompiled } from './children';

/** The figures of one round's report that the summary reads. */
interface RoundReport {
  wall_s: number;
  cpu_ms_per_1000_steps: number;
  peak_rss_mb: number;
  machine_cpu: { others_s: number };
  gc: { full: number; promoted_mb: number };
  load_average: { before: number[] };
  duplicates: number;
  missing: number;
  floor: { wall_vs_floor: number; cpu_vs_floor: number; wall_s: { mean: number } } | null;
}

export interface RoundsTargets {
  wall: number;
  cpu: number;
}

/** One round: main.js with the same arguments but --rounds 1; its report and exit code. */
function runRound(args: string[]): Promise<{ report: RoundReport | null; code: number }> {
  const child = spawnCompiled('main.js', [...args, '--rounds', '1'], {});
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  // its progress and verdict lines, as a single run shows them
  child.stderr!.pipe(process.stderr, { end: false });
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      let report: RoundReport | null = null;
      try {
        report = JSON.parse(out) as RoundReport;
      } catch {
        // no report: the round failed before it could print one (its stderr says why)
      }
      resolve({ report, code: code ?? 1 });
    });
  });
}

/**
 * Runs `rounds` rounds one after the other, prints each round's report and the summary on
 * stdout (one JSON document), the summary's verdict line on stderr, and exits non-zero if
 * any round did (a run that did not complete, a duplicate or missing call, a void floor).
 */
export async function runRounds(
  args: string[],
  rounds: number,
  targets: RoundsTargets,
): Promise<never> {
  const reports: RoundReport[] = [];
  let failed = 0;
  for (let i = 1; i <= rounds; i++) {
    process.stderr.write(`round ${i} of ${rounds}\n`);
    const { report, code } = await runRound(args);
    if (code !== 0) failed++;
    if (report) reports.push(report);
  }
  const withFloor = reports.filter((r) => r.floor !== null);
  const summary = {
    rounds,
    rounds_failed: failed,
    wall_s: spread(reports.map((r) => r.wall_s)),
    cpu_ms_per_1000_steps: spread(reports.map((r) => r.cpu_ms_per_1000_steps)),
    // PostgreSQL and the rest of the machine, during each service run
    others_s: spread(reports.map((r) => r.machine_cpu.others_s)),
    peak_rss_mb: spread(reports.map((r) => r.peak_rss_mb)),
    // the service process's full GCs and what its scavenges promoted (bench/machine.ts)
    full_gcs: spread(reports.map((r) => r.gc.full)),
    promoted_mb: spread(reports.map((r) => r.gc.promoted_mb)),
    ...(withFloor.length > 0
      ? {
          floor_wall_s: spread(withFloor.map((r) => r.floor!.wall_s.mean)),
          wall_vs_floor: spread(withFloor.map((r) => r.floor!.wall_vs_floor)),
          cpu_vs_floor: spread(withFloor.map((r) => r.floor!.cpu_vs_floor)),
          rounds_meeting: {
            wall: withFloor.filter((r) => r.floor!.wall_vs_floor <= targets.wall).length,
            cpu: withFloor.filter((r) => r.floor!.cpu_vs_floor <= targets.cpu).length,
          },
        }
      : {}),
    duplicates: reports.reduce((n, r) => n + r.duplicates, 0),
    missing: reports.reduce((n, r) => n + r.missing, 0),
    each: reports.map((r) => ({
      load_before: r.load_average.before[0],
      wall_s: r.wall_s,
      cpu_ms_per_1000_steps: r.cpu_ms_per_1000_steps,
      others_s: r.machine_cpu.others_s,
      peak_rss_mb: r.peak_rss_mb,
      full_gcs: r.gc.full,
      promoted_mb: r.gc.promoted_mb,
      ...(r.floor
        ? {
            floor_wall_s: r.floor.wall_s.mean,
            wall_vs_floor: r.floor.wall_vs_floor,
            cpu_vs_floor: r.floor.cpu_vs_floor,
          }
        : {}),
    })),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (summary.wall_vs_floor && summary.cpu_vs_floor && summary.rounds_meeting) {
    const { wall_vs_floor: w, cpu_vs_floor: c, rounds_meeting: met } = summary;
    process.stderr.write(
      `verdict over ${withFloor.length} rounds: wall ${w.median} x the raw floor ` +
        `(median; ${w.min}-${w.max}; target <= ${targets.wall}, met in ${met.wall}); ` +
        `CPU ${c.median} x the floor (${c.min}-${c.max}; target <= ${targets.cpu}, met in ${met.cpu})\n`,
    );
  }
  process.exit(failed === 0 && reports.length === rounds ? 0 : 1);
}
