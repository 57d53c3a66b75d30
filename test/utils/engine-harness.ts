import { Global, INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { OperationRegistry } from 'src/clients/operation-registry';
import { Clock, SystemClock } from 'src/common/time/clock';
import { ConfigModule } from 'src/config/config.module';
import { validateEnv } from 'src/config/validate-env';
import { DatabaseModule } from 'src/database/database.module';
import { EventsModule } from 'src/events/events.module';
import { ExecutionsModule } from 'src/executions/executions.module';
import { ExecutionCommandsService } from 'src/executions/execution-commands.service';
import { ExecutionListenersService } from 'src/executions/execution-listeners.service';
import { ExecutionQueriesService } from 'src/executions/execution-queries.service';
import { TenantDirectory } from 'src/executions/ports';
import { ExecutionDispatcher } from 'src/executions/runner/execution-dispatcher';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { RedisModule } from 'src/common/redis/redis.module';
import { FakeDownstream, FakeTenantDirectory } from '../fakes/fake-downstream';

export { waitUntil } from './wait';

export interface EngineHarness {
  app: INestApplication;
  /** the write side (startRun, retry, executeManually) */
  executions: ExecutionCommandsService;
  queries: ExecutionQueriesService;
  listeners: ExecutionListenersService;
  workflows: WorkflowsService;
  dispatcher: ExecutionDispatcher;
  dataSource: DataSource;
  close(): Promise<void>;
}

/**
 * The engine (workflows + executions + events) on a real database, with the downstream
 * services replaced by in-process fakes. One per "instance" in multi-runner tests.
 */
export async function startEngine(opts: {
  databaseUrl: string;
  downstream: FakeDownstream;
  tenants: FakeTenantDirectory;
  env?: Record<string, string>;
  clock?: Clock;
}): Promise<EngineHarness> {
  const env = validateEnv({
    DATABASE_URL: opts.databaseUrl,
    RUN_MIGRATIONS: 'false',
    LOG_LEVEL: 'warn',
    ...opts.env,
  });

  @Global()
  @Module({
    providers: [
      { provide: OperationRegistry, useValue: opts.downstream },
      { provide: Clock, useValue: opts.clock ?? new SystemClock() },
    ],
    exports: [OperationRegistry, Clock],
  })
  class FakesModule {}

  const moduleRef = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(env),
      FakesModule,
      DatabaseModule,
      RedisModule,
      EventsModule,
      ExecutionsModule,
    ],
  })
    .overrideProvider(TenantDirectory)
    .useValue(opts.tenants)
    .compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.init();
  return {
    app,
    executions: app.get(ExecutionCommandsService),
    queries: app.get(ExecutionQueriesService),
    listeners: app.get(ExecutionListenersService),
    workflows: app.get(WorkflowsService),
    dispatcher: app.get(ExecutionDispatcher),
    dataSource: app.get(DataSource),
    close: () => app.close(),
  };
}
