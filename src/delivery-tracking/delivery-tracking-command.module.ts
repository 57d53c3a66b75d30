import { DynamicModule, Module } from '@nestjs/common';
import { commandContextModule } from 'src/command-context';
import { Env } from 'src/config/env.schema';
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
    return commandContextModule(DeliveryTrackingCommandModule, env, [
      EventsModule,
      DeliveryTrackingModule.register({ inProcessJob: false }),
    ]);
  }
}
