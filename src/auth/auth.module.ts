import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Clock } from 'src/common/time/clock';
import { AppConfig } from 'src/config/app-config.service';
import { AuthGuard } from './auth.guard';
import { AuthSetup } from './auth-setup';
import { BootstrapTokenAnnouncer } from './bootstrap-token.announcer';
import { ConsoleOutput } from './console-output';

/**
 * Authentication and roles for every route (a global guard) and the HTTP hardening that
 * goes with them. Needs AppConfig and Clock (global). The audit trail is AuditModule.
 */
@Global()
@Module({
  providers: [
    ConsoleOutput,
    { provide: AuthSetup, inject: [AppConfig, Clock], useFactory: AuthSetup.fromConfig },
    BootstrapTokenAnnouncer,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [AuthSetup],
})
export class AuthModule {}
