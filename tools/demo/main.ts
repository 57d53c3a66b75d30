import { serviceUrls } from 'src/config/env.schema';
/**
 * `npm run demo`: the service's main job on the embedded default, in one command.
 * Starts the bakery platform simulator and the service (PGlite in DATA_DIR, default
 * ./data/demo), runs daily_operations for the simulator's tenants with live progress,
 * prints a summary table, and leaves the service up (`--exit` to stop after the run).
 */
import 'reflect-metadata';
import { ExecutionCommandsService } from 'src/executions/execution-commands.service';
import { ExecutionQueriesService } from 'src/executions/execution-queries.service';
import { loadEnvOrExit, startService, exitOnSignals } from 'src/service';
import { startSimulator } from 'tools/simulator';

interface DemoArgs {
  tenants: number;
  latencyMs: number;
  workflow: string;
  exit: boolean;
  port: number;
  simulatorPort: number;
}

const USAGE = `Usage: npm run demo -- [--tenants 50] [--latency-ms 20] [--workflow daily_operations] [--port 8018] [--simulator-port 18100] [--exit]\n`;

function parseArgs(argv: string[]): DemoArgs {
  const args: DemoArgs = {
    tenants: 50,
    latencyMs: 20,
    workflow: 'daily_operations',
    exit: false,
    port: 8018,
    simulatorPort: 18100,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${flag} needs a value`);
      return v;
    };
    const int = (name: string, min: number, max: number) => {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
        fail(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
      return Number(v);
    };
    switch (flag) {
      case '--tenants':
        args.tenants = int('--tenants', 1, 20000);
        break;
      case '--latency-ms':
        args.latencyMs = int('--latency-ms', 0, 10000);
        break;
      case '--port':
        args.port = int('--port', 1, 65535);
        break;
      case '--simulator-port':
        args.simulatorPort = int('--simulator-port', 0, 65535);
        break;
      case '--workflow':
        args.workflow = value();
        break;
      case '--exit':
        args.exit = true;
        break;
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default:
        fail(`unknown option "${flag}"`);
    }
  }
  return args;
}

function fail(message: string): never {
  process.stderr.write(`demo: ${message}\n${USAGE}`);
  process.exit(2);
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const sim = await startSimulator({
    port: args.simulatorPort,
    tenants: args.tenants,
    latencyMs: args.latencyMs,
  });
  process.stdout.write(
    `SIMULATOR (fake downstream services) on ${sim.url}: ${sim.tenants().length} tenants, ${args.latencyMs} ms latency\n`,
  );

  const urls = serviceUrls(sim.url);
  const env = loadEnvOrExit({
    LOG_LEVEL: 'warn',
    DATA_DIR: './data/demo',
    PORT: String(args.port),
    ...process.env,
    ...urls,
  });
  const app = await startService(env);
  exitOnSignals(app, env.SHUTDOWN_TIMEOUT_SECONDS);
  const base = `http://127.0.0.1:${env.PORT}`;
  process.stdout.write(
    `Bakery Orchestrator on ${base} (database: ${env.DATABASE_URL ? 'PostgreSQL' : `embedded PGlite in ${env.DATA_DIR}`})\n\n`,
  );

  const executions = app.get(ExecutionCommandsService);
  const queries = app.get(ExecutionQueriesService);
  const started = Date.now();
  const run = await executions.executeManually(args.workflow, { allow_concurrent: true }, null);
  const runId = (run as { execution_id: string }).execution_id;
  process.stdout.write(`Running ${args.workflow} (run ${runId})\n`);

  const tty = process.stdout.isTTY;
  let progress = await queries.progress(runId);
  while (progress.status === 'running' || progress.status === 'pending') {
    const done =
      (progress.by_status.completed ?? 0) +
      (progress.by_status.failed ?? 0) +
      (progress.by_status.cancelled ?? 0);
    const line = `  ${done}/${progress.tenants_total} tenants done, ${progress.by_status.running ?? 0} running, ${progress.by_status.failed ?? 0} failed, ${((Date.now() - started) / 1000).toFixed(1)} s`;
    process.stdout.write(tty ? `\r${line}   ` : `${line}\n`);
    await new Promise((r) => setTimeout(r, tty ? 250 : 2000));
    progress = await queries.progress(runId);
  }
  if (tty) process.stdout.write('\n');

  const s = (progress.result_summary ?? {}) as Record<string, any>;
  const rows: [string, string | number][] = [
    ['run', runId],
    ['status', progress.status],
    ['tenants listed', s.tenants_total ?? '-'],
    [
      'skipped (suspended/cancelled)',
      Object.values((s.tenants_skipped ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0),
    ],
    ['tenants processed', s.tenants_processed ?? 0],
    ['succeeded', s.tenants_succeeded ?? 0],
    ['failed', s.tenants_failed ?? 0],
    ['cancelled', s.tenants_cancelled ?? 0],
    ['steps completed', s.steps_completed ?? 0],
    ['steps failed', s.steps_failed ?? 0],
    ['tenant retries', s.retries ?? 0],
    ['wall time', `${((Date.now() - started) / 1000).toFixed(1)} s`],
    ['downstream calls', sim.stats().total_calls],
  ];
  process.stdout.write(`\n${pad('Summary', 32)}\n${'-'.repeat(60)}\n`);
  for (const [k, v] of rows) process.stdout.write(`${pad(k, 32)}${v}\n`);
  if (progress.error_message)
    process.stdout.write(`${pad('error', 32)}${progress.error_message}\n`);
  process.stdout.write(`\nStep calls by operation:\n`);
  for (const [op, stat] of Object.entries(sim.stats().by_operation)) {
    process.stdout.write(`  ${pad(op, 36)}${stat.count}\n`);
  }

  if (args.exit) {
    await app.close();
    await sim.close();
    process.exit(progress.status === 'completed' ? 0 : 1);
  }
  process.stdout.write(
    `\nThe service stays up: Swagger UI ${base}/api/docs, run details ${base}/api/v1/orchestrator/executions/${runId}\n` +
      `Ctrl-C to stop.\n`,
  );
}

main().catch((err: NodeJS.ErrnoException & { port?: number }) => {
  if (err.code === 'EADDRINUSE') {
    // a user's doing (a demo still running, another service): say which flag picks another port
    process.stderr.write(
      `demo: port ${err.port ?? ''} is already in use on 127.0.0.1; stop what listens there, or pass --port N (service) or --simulator-port N (simulator)\n`,
    );
    process.exit(2);
  }
  process.stderr.write(`demo failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
