import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { Clock, SystemClock } from 'src/common/time/clock';
import { ConfigModule } from 'src/config/config.module';
import { Env } from 'src/config/env.schema';
import { DatabaseModule } from 'src/database/database.module';
import { EventsModule } from 'src/events/events.module';
import { DeliveryTrackingModule } from './delivery-tracking.module';

/**
 * What the one-shot `delivery-tracking` command needs, and nothing more: no HTTP server,
 * no leader election, no workflow runners. A CronJob pod built from the whole AppModule
 * would join the leader race and claim tenant executions while it lives.
 */
@Module({})
export class DeliveryTrackingCommandModule {
  static forRoot(env: Env): DynamicModule {
    return {
      module: DeliveryTrackingCommandModule,
      global: true,
      imports: [
        ConfigModule.forRoot(env),
        // logs on stderr: stdout carries only the JSON summary
        LoggerModule.forRoot({
          pinoHttp: [{ level: env.LOG_LEVEL }, pino.destination({ fd: 2, sync: true })],
        }),
        DatabaseModule,
        EventsModule,
        DeliveryTrackingModule.register({ inProcessJob: false }),
      ],
      providers: [{ provide: Clock, useValue: new SystemClock() }],
      exports: [Clock],
    };
  }
}
