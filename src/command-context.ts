import { DynamicModule, ModuleMetadata, Type } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { Clock, SystemClock } from 'src/common/time/clock';
import { DatabaseModule } from 'src/database/database.module';
import { ConfigModule } from 'src/config/config.module';
import { Env } from 'src/config/env.schema';
import { InstanceIdentity } from 'src/config/instance-identity';

/**
 * The root of a one-shot CLI command: configuration, the database, a system clock and the
 * modules the command names, without the HTTP server, leader election or runners that the
 * whole AppModule would start.
 */
export function commandContextModule(
  module: Type,
  env: Env,
  imports: NonNullable<ModuleMetadata['imports']>,
): DynamicModule {
  const identity = InstanceIdentity.create();
  return {
    module,
    global: true,
    imports: [
      ConfigModule.forRoot(env, identity),
      // logs on stderr: stdout carries only the command's result
      LoggerModule.forRoot({
        pinoHttp: [
          {
            level: env.LOG_LEVEL,
            base: { pid: process.pid, hostname: identity.hostname, instanceId: identity.id },
          },
          pino.destination({ fd: 2, sync: true }),
        ],
      }),
      DatabaseModule,
      ...imports,
    ],
    providers: [{ provide: Clock, useValue: new SystemClock() }],
    exports: [Clock],
  };
}
