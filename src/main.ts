import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { exitOnSignals, loadEnvOrExit, startService } from './service';

async function main(): Promise<void> {
  const env = loadEnvOrExit();
  const started = Date.now();
  const app = await startService(env);
  exitOnSignals(app, env.SHUTDOWN_TIMEOUT_SECONDS);
  const database = env.DATABASE_URL ? 'PostgreSQL' : `embedded PGlite in ${env.DATA_DIR}`;
  app
    .get(Logger)
    .log(
      `Bakery Orchestrator listening on http://127.0.0.1:${env.PORT} (Swagger UI: /api/docs), ` +
        `database: ${database}, started in ${Date.now() - started} ms`,
    );
}

main().catch((err: Error) => {
  process.stderr.write(`Bakery Orchestrator failed to start: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
