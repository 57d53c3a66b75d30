import 'reflect-metadata';
import { ConsoleLogger, Logger, LogLevel } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { runRunShowCommand, runRunsCommand } from './console/runs.command';
import { buildDataSourceOptions } from './database/data-source';
import { runDeliveryTrackingCommand } from './delivery-tracking/delivery-tracking.command';
import { runWorkflowCommand } from './executions/run.command';
import { runRollupCommand } from './metrics/rollup.command';
import { loadEnvOrExit } from './service';

const USAGE = `Usage: node dist/cli.js <command>

Commands:
  migrate            apply pending database migrations and exit
  migrate:status     print {"pending": true} when a migration is not applied yet, else false
  run <workflow> [--tenants a,b] [--wait] [--allow-concurrent] [--dry-run]
                     start a manual run; --wait runs it here, shows progress and exits 0 only
                     if it completed
  delivery-tracking  one delivery-tracking run over every active tenant (exit 0 done, 1 failed,
                     3 refused: another run is active); last stdout line: JSON summary
  metrics:rollup --from YYYY-MM-DD --to YYYY-MM-DD
                     recompute the daily rollup (orchestrator_metrics) of those local dates
  runs [--workflow name] [--status s] [--limit n] [--json]
                     the latest runs: status, tenants ok/failed/all, created, duration
  run-show <execution id> [--json]
                     one run and each tenant's steps (status, attempts, time, error or result)

Stdout carries only each command's output (tables or JSON); logs go to stderr.
`;

/**
 * Nest's default logger writes to stdout, where a command's JSON goes: its lines (from
 * services that log with Nest's Logger outside an app with pino) go to stderr instead.
 */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _stream?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}

async function migrate(showOnly: boolean): Promise<number> {
  const env = loadEnvOrExit();
  // a migration may rewrite a large table: no statement timeout, unlike the service's work
  const dataSource = new DataSource(
    buildDataSourceOptions(env, { limits: { statementTimeoutMs: 0, lockTimeoutMs: 0 } }),
  );
  const started = Date.now();
  await dataSource.initialize();
  try {
    if (showOnly) {
      const pending = await dataSource.showMigrations();
      process.stdout.write(`${JSON.stringify({ pending })}\n`);
      return 0;
    }
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    process.stdout.write(
      `${JSON.stringify({ applied: applied.map((m) => m.name), ms: Date.now() - started })}\n`,
    );
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'migrate':
      return migrate(false);
    case 'migrate:status':
      return migrate(true);
    case 'run':
      return runWorkflowCommand(argv.slice(1), loadEnvOrExit(), (line) =>
        process.stdout.write(`${line}\n`),
      );
    case 'delivery-tracking':
      return runDeliveryTrackingCommand(loadEnvOrExit());
    case 'runs':
      return runRunsCommand(argv.slice(1), loadEnvOrExit(), (line) =>
        process.stdout.write(`${line}\n`),
      );
    case 'run-show':
      return runRunShowCommand(argv.slice(1), loadEnvOrExit(), (line) =>
        process.stdout.write(`${line}\n`),
      );
    case 'metrics:rollup':
      return runRollupCommand(argv.slice(1), loadEnvOrExit(), (line) =>
        process.stdout.write(`${line}\n`),
      );
    case undefined:
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`Unknown command "${command}".\n${USAGE}`);
      return 2;
  }
}

Logger.overrideLogger(new StderrLogger());
main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((err: Error) => {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  });
