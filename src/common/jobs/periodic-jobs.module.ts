import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { PeriodicJobs } from './periodic-jobs';

/**
 * Import it where a provider runs periodic work; Nest keeps one PeriodicJobs (and one
 * SchedulerRegistry) per application however many modules import it. It takes the
 * LeaderGate from the global LeaderModule when the application has one (the one-shot CLI
 * does not, so only jobs with `leaderOnly: false` can be defined there).
 */
@Module({
  imports: [ScheduleModule.forRoot()],
  providers: [PeriodicJobs],
  exports: [PeriodicJobs],
})
export class PeriodicJobsModule {}
