import { DynamicModule, Global, Module } from '@nestjs/common';
import { RedisSettings } from 'src/common/redis/redis.module';
import { AppConfig } from './app-config.service';
import { Env } from './env.schema';

/**
 * The validated environment for every module: `AppConfig`, plus the settings objects that
 * modules under `src/common` take instead of importing config (config imports only common).
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(env: Env): DynamicModule {
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
      ],
      exports: [AppConfig, RedisSettings],
    };
  }
}
