import { INestApplication, ModuleMetadata } from '@nestjs/common';
import request from 'supertest';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AppModule } from 'src/app.module';
import { configureApp } from 'src/app.setup';
import { Clock } from 'src/common/time/clock';
import { serviceUrls } from 'src/config/env.schema';
import { validateEnv } from 'src/config/validate-env';
import { authEnv, bearer } from './auth';
import { waitUntil } from './wait';

export interface OpsApp {
  app: INestApplication;
  http: ReturnType<INestApplication['getHttpServer']>;
  dataSource: DataSource;
  close(): Promise<void>;
}

/**
 * The whole application in this process (AppModule + configureApp, as main.ts builds it)
 * on a given database, with AUTH_JWT_SECRET from test/utils/auth.ts. `imports` adds
 * modules not yet wired into AppModule (importing one twice is harmless);
 * `override` replaces providers (fakes for downstream services).
 */
export async function startOpsApp(opts: {
  databaseUrl: string;
  env?: Record<string, string>;
  clock?: Clock;
  imports?: ModuleMetadata['imports'];
  override?: { provide: unknown; useValue: unknown }[];
}): Promise<OpsApp> {
  const env = validateEnv({
    DATABASE_URL: opts.databaseUrl,
    RUN_MIGRATIONS: 'false',
    LOG_LEVEL: 'error',
    ...authEnv(),
    ...opts.env,
  });
  let builder = Test.createTestingModule({
    imports: [AppModule.forRoot(env, { clock: opts.clock }), ...(opts.imports ?? [])],
  });
  for (const o of opts.override ?? []) {
    builder = builder.overrideProvider(o.provide).useValue(o.useValue);
  }
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ bufferLogs: true });
  configureApp(app);
  await app.init();
  return {
    app,
    http: app.getHttpServer(),
    dataSource: app.get(DataSource),
    close: () => app.close(),
  };
}

/**
 * Env for an in-process app that takes a flood of requests: the simulator behind every
 * downstream, no leader election or RabbitMQ consumer, and a mutation rate limit high
 * enough not to be what a test measures.
 */
export const floodEnv = (simulatorUrl: string): Record<string, string> => ({
  DELIVERY_TRACKING_IN_PROCESS: 'false',
  ENABLE_LEADER_ELECTION: 'false',
  RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
  ...serviceUrls(simulatorUrl),
});

/**
 * POST /workflows/{workflow}/execute as an operator, then waits for the run to finish
 * (completed or failed) in the database; returns its id.
 */
export async function executeAndSettle(
  ops: OpsApp,
  workflow: string,
  timeoutMs = 30000,
): Promise<string> {
  const res = await request(ops.http)
    .post(`/api/v1/orchestrator/workflows/${workflow}/execute`)
    .set(bearer('operator'))
    .send({ allow_concurrent: true });
  expect(res.status).toBe(202);
  const id = res.body.execution_id as string;
  await waitUntil(async () => {
    const [row] = await ops.dataSource.query(
      `SELECT status FROM orchestrator_executions WHERE id = $1`,
      [id],
    );
    return ['completed', 'failed'].includes(row.status);
  }, timeoutMs);
  return id;
}
