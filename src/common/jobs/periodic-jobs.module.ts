import { Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { PeriodicJobs } from './periodic-jobs';

/**
 * PeriodicJobs for every module, in the service and in the one-shot CLI alike (the CLI has
 * no LeaderGate, so only jobs with `leaderOnly: false` can be defined there).
 */
@Global()
@Module({
  imports: [ScheduleModule.forRoot()],
  providers: [PeriodicJobs],
  exports: [PeriodicJobs],
})
export class PeriodicJobsModule {}
