import { Global, Module } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config.service';
import { InstanceIdentity } from 'src/config/instance-identity';
import { LeaderElectionService } from './leader-election.service';
import { LeaderGate } from 'src/common/jobs/leader-gate';
import { LeaderLock } from './leader-lock';
import { LeaderSettings } from './leader-settings';
import { leaderTimings } from './leader-timing';
import { LeaderController } from './leader.controller';
import { leaderInstanceGaugeProvider } from './leader.metrics';
import { LeaderRepository } from './leader.repository';
import { RedlockLeaderLock } from './redlock-leader-lock.adapter';

/**
 * Leader election for the whole app. Global, because the scheduler, the delivery
 * tracking job and readiness all need the same LeaderGate and there is one per process.
 */
@Global()
@Module({
  controllers: [LeaderController],
  providers: [
    {
      provide: LeaderSettings,
      inject: [AppConfig, InstanceIdentity],
      useFactory: LeaderSettings.fromConfig,
    },
    {
      provide: LeaderLock,
      inject: [LeaderSettings],
      useFactory: (settings: LeaderSettings): LeaderLock | null =>
        settings.mode === 'election'
          ? new RedlockLeaderLock({
              url: settings.redisUrl!,
              key: settings.lockKey,
              commandTimeoutMs: leaderTimings(settings.ttlSeconds, settings.heartbeatSeconds)
                .commandTimeoutMs,
            })
          : null,
    },
    leaderInstanceGaugeProvider,
    LeaderRepository,
    LeaderElectionService,
    { provide: LeaderGate, useExisting: LeaderElectionService },
  ],
  exports: [LeaderGate, LeaderElectionService],
})
export class LeaderModule {}
