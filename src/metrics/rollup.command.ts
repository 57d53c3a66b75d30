import { DataSource } from 'typeorm';
import { SystemClock } from 'src/common/time/clock';
import { AppConfig } from 'src/config/app-config.service';
import { Env } from 'src/config/env.schema';
import { buildDataSourceOptions } from 'src/database/data-source';
import { addDays, datesBetween, isCalendarDate } from './local-day';
import { MetricsRepository } from './metrics.repository';
import { MAX_ROLLUP_DAYS, MetricsRollupService } from './rollup.service';

export const ROLLUP_USAGE =
  'metrics:rollup --from YYYY-MM-DD --to YYYY-MM-DD   recompute orchestrator_metrics for those local dates (DEFAULT_TIMEZONE)';

/**
 * `node dist/cli.js metrics:rollup --from 2026-03-01 --to 2026-03-31`: the backfill of the
 * daily rollup, in chunks of at most a year, printing one JSON line per chunk. Safe to
 * run while the service runs (each day is replaced in one transaction).
 */
export async function runRollupCommand(
  args: string[],
  env: Env,
  out: (line: string) => void,
): Promise<number> {
  const from = valueOf(args, '--from');
  const to = valueOf(args, '--to') ?? from;
  if (!from || !isCalendarDate(from) || !to || !isCalendarDate(to) || from > to) {
    out(`Usage: node dist/cli.js ${ROLLUP_USAGE}`);
    return 2;
  }
  const dataSource = new DataSource(buildDataSourceOptions(env));
  await dataSource.initialize();
  try {
    const service = new MetricsRollupService(
      new MetricsRepository(dataSource),
      new SystemClock(),
      new AppConfig(env),
    );
    for (let start = from; start <= to;) {
      const days = datesBetween(start, to, MAX_ROLLUP_DAYS);
      const end = days[days.length - 1];
      const rows = await service.rollup(start, end);
      out(JSON.stringify({ from: start, to: end, days: days.length, rows: rows.length }));
      start = addDays(end, 1);
    }
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

function valueOf(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const inline = args.find((a) => a.startsWith(`${name}=`));
  return inline?.slice(name.length + 1);
}
