import { UsageError, USAGE, parseSimulatorArgs } from './cli';
import { SIMULATOR_NAME, startSimulator } from './simulator';

/** `npm run simulator -- --port 18100 --tenants 50 --latency-ms 20` */
async function main(): Promise<void> {
  let options;
  try {
    options = parseSimulatorArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  const sim = await startSimulator(options);
  const all = sim.tenants().length;
  const active = sim.activeTenants().length;
  // one line, on purpose: the child-process helper waits for "listening on <url>"
  process.stdout.write(
    `[${SIMULATOR_NAME}] SIMULATOR (fake downstream services, not a real platform) listening on ${sim.url}: ` +
      `${all} tenants (${active} active), seed ${options.seed}, latency ${options.latencyMs}±${options.jitterMs} ms, ` +
      `error rate ${options.errorRate}, timeout rate ${options.timeoutRate}, ` +
      `delivery anchor ${sim.anchor().toISOString()}; control API at ${sim.url}/__sim/health\n`,
  );
  const stop = (signal: string) => {
    process.stdout.write(
      `[${SIMULATOR_NAME}] ${signal}: stopping after ${sim.stats().total_calls} calls\n`,
    );
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: Error) => {
  process.stderr.write(`[${SIMULATOR_NAME}] failed to start: ${err.message}\n`);
  process.exit(1);
});
