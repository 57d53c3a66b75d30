/**
 * bench:fanout --instances N: one more service process on the same PostgreSQL, as a second
 * replica would run (everything AppModule wires; its dispatcher claims tenant work beside
 * the bench process's). Started by children.ts with the bench's raw environment in
 * BENCH_SERVICE_ENV; prints `ready <owner>` once it runs, and on SIGTERM closes (handing
 * unfinished work back) and prints `{"peak_rss_mb": N}`.
 */
import 'reflect-metadata';

import { NestFactory } from '@nestjs/core';
import { AppModule } from 'src/app.module';
import { validateEnv } from 'src/config/validate-env';
import { ExecutionDispatcher } from 'src/executions/runner/execution-dispatcher';
import { StderrLogger } from './shared';

async function main(): Promise<void> {
  const env = validateEnv(JSON.parse(process.env.BENCH_SERVICE_ENV ?? '{}'));
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 50);
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(env), {
    logger: new StderrLogger(),
  });
  await app.init();
  process.once('SIGTERM', () => {
    void app.close().then(() => {
      clearInterval(sampler);
      process.stdout.write(`${JSON.stringify({ peak_rss_mb: Math.round(peakRss / 1048576) })}\n`);
      process.exit(0);
    });
  });
  process.stdout.write(`ready ${app.get(ExecutionDispatcher).owner}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`service instance failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
