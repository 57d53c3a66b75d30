import { DynamicModule, Global, Module } from '@nestjs/common';
import { RedisSettings } from 'src/common/redis/redis.module';
import { AppConfig } from './app-config.service';
import { Env } from './env.schema';
import { InstanceIdentity } from './instance-identity';

/**
 * The validated environment, this process's identity, and the settings objects that modules
 * under `src/common` take instead of importing config (config imports only common).
 * `identity` is given when the caller also needs it outside injection (the log's base fields).
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(env: Env, identity: InstanceIdentity = InstanceIdentity.create()): DynamicModule {
    const redis: RedisSettings = {
      url: env.REDIS_URL,
      commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
      connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS,
    };
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: new AppConfig(env) },
        { provide: RedisSettings, useValue: redis },
        { provide: InstanceIdentity, useValue: identity },
      ],
      exports: [AppConfig, RedisSettings, InstanceIdentity],
    };
  }
}
