import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from './app-config.service';
import { Env } from './env.schema';
import { InstanceIdentity } from './instance-identity';

/**
 * The validated environment and this process's identity, for every module. `identity` is
 * given when the caller also needs it outside injection (the log's base fields).
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(env: Env, identity: InstanceIdentity = InstanceIdentity.create()): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: new AppConfig(env) },
        { provide: InstanceIdentity, useValue: identity },
      ],
      exports: [AppConfig, InstanceIdentity],
    };
  }
}
