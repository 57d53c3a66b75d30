import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { Clock } from 'src/common/time/clock';
import { AppConfig } from 'src/config/app-config.service';
import { AuthGuard } from './auth.guard';
import { AuthSetup } from './auth-setup';
import { BootstrapTokenAnnouncer } from './bootstrap-token.announcer';
import { ConsoleOutput } from './console-output';
import { MUTATIONS_THROTTLER, MutationThrottlerGuard } from './mutation-throttler.guard';
import { StrictInputGuard } from './strict-input.guard';

/**
 * Authentication and roles for every route (a global guard) and the HTTP hardening that
 * goes with them. Needs AppConfig and Clock (global). The audit trail is AuditModule.
 */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => [
        {
          name: MUTATIONS_THROTTLER,
          ttl: 60_000,
          limit: config.get('RATE_LIMIT_MUTATIONS_PER_MINUTE'),
        },
      ],
    }),
  ],
  providers: [
    ConsoleOutput,
    { provide: AuthSetup, inject: [AppConfig, Clock], useFactory: AuthSetup.fromConfig },
    BootstrapTokenAnnouncer,
    // in this order: who (401/403), how often (429, per subject), then what (400)
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: MutationThrottlerGuard },
    { provide: APP_GUARD, useClass: StrictInputGuard },
  ],
  exports: [AuthSetup],
})
export class AuthModule {}
