import { Global, INestApplication, Module, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { OperationRegistry } from 'src/clients/operation-registry';
import { Clock } from 'src/common/time/clock';
import { RedisModule } from 'src/common/redis/redis.module';
import { ConfigModule } from 'src/config/config.module';
import { validateEnv } from 'src/config/validate-env';
import { DatabaseModule } from 'src/database/database.module';
import { EventsModule } from 'src/events/events.module';
import { TenantDirectory } from 'src/executions/ports';
import { LeaderGate } from 'src/common/jobs/leader-gate';
import { FakeLeaderGate } from '../fakes/fake-leader-gate';
import { AlertNotifier } from 'src/metrics/alerts/alert-notifier';
import type { AlertRow } from 'src/metrics/alerts/alerts.repository';
import { MetricsModule } from 'src/metrics/metrics.module';
import { FakeDownstream, FakeTenantDirectory, makeTenants } from '../fakes/fake-downstream';

/** Keeps every alert it is asked to send, so a test can see what went out. */
export class RecordingNotifier extends AlertNotifier {
  readonly sent: AlertRow[] = [];
  async notify(alert: AlertRow): Promise<void> {
    this.sent.push(alert);
  }
}

/**
 * The metrics module (alerts) with events and the database, as leader '1' on `clock`, one
 * fake tenant, and alerts going to `notifier` instead of out of the process.
 */
export async function startAlertsApp(opts: {
  databaseUrl: string;
  clock: Clock;
  notifier: AlertNotifier;
  env?: Record<string, string>;
  providers?: (Provider & { provide: unknown })[];
}): Promise<INestApplication> {
  const env = validateEnv({
    DATABASE_URL: opts.databaseUrl,
    RUN_MIGRATIONS: 'false',
    LOG_LEVEL: 'error',
    ...opts.env,
  });
  const extra = opts.providers ?? [];

  @Global()
  @Module({
    providers: [
      { provide: Clock, useValue: opts.clock },
      { provide: LeaderGate, useValue: new FakeLeaderGate('1') },
      { provide: OperationRegistry, useValue: new FakeDownstream(1) },
      ...extra,
    ],
    exports: [Clock, LeaderGate, OperationRegistry, ...extra.map((p) => p.provide as never)],
  })
  class FakesModule {}

  const moduleRef = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(env),
      FakesModule,
      DatabaseModule,
      RedisModule,
      EventsModule,
      MetricsModule,
    ],
  })
    .overrideProvider(TenantDirectory)
    .useValue(new FakeTenantDirectory(makeTenants(1)))
    .overrideProvider(AlertNotifier)
    .useValue(opts.notifier)
    .compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.init();
  return app;
}
