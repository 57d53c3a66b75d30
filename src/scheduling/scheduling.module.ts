import { Module } from '@nestjs/common';
import { TenantClient } from 'src/clients';
import { PeriodicJobsModule } from 'src/common/jobs/periodic-jobs.module';
import { IdempotencyModule } from 'src/common/idempotency/idempotency.module';
import { AppConfig } from 'src/config/app-config.service';
import { DatabaseClock } from 'src/database/database-clock';
import { ExecutionsModule } from 'src/executions/executions.module';
import { ExecutionCommandsService } from 'src/executions/execution-commands.service';
import { ExecutionQueriesService } from 'src/executions/execution-queries.service';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { ScheduleController } from './schedule.controller';
import { ScheduleService } from './schedule.service';
import {
  ExecutionsFacadeAdapter,
  TenantClientAdapter,
  WorkflowsFacadeAdapter,
} from './scheduling.adapters';
import {
  ScheduleClock,
  ScheduleExecutions,
  ScheduleTenants,
  ScheduleWorkflows,
} from './scheduling.ports';
import { SchedulerSettings, WorkflowSchedulerService } from './workflow-scheduler.service';

/** ORCH_TEST_CRASH_AFTER_CLAIM: the e2e test's kill -9 between claim and hand-over. */
function crashAfterClaim(config: AppConfig): (() => void) | null {
  if (!config.get('ORCH_TEST_CRASH_AFTER_CLAIM') || config.get('NODE_ENV') !== 'test') return null;
  return () => process.kill(process.pid, 'SIGKILL');
}

/**
 * Cron + timezone + calendar -> slots, the leader-only scheduler and the schedule API.
 * Needs LeaderGate (LeaderModule), DatabaseClock (DatabaseModule), TenantClient
 * (ClientsModule) and Clock, all global. The scheduler judges slots by the database clock.
 */
@Module({
  imports: [PeriodicJobsModule, WorkflowsModule, ExecutionsModule, IdempotencyModule],
  controllers: [ScheduleController],
  providers: [
    {
      provide: SchedulerSettings,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new SchedulerSettings({ afterClaim: crashAfterClaim(config) }),
    },
    { provide: ScheduleClock, useExisting: DatabaseClock },
    {
      provide: ScheduleWorkflows,
      inject: [WorkflowsService],
      useFactory: (w: WorkflowsService) => new WorkflowsFacadeAdapter(w),
    },
    {
      provide: ScheduleExecutions,
      inject: [ExecutionCommandsService, ExecutionQueriesService],
      useFactory: (c: ExecutionCommandsService, q: ExecutionQueriesService) =>
        new ExecutionsFacadeAdapter(c, q),
    },
    {
      provide: ScheduleTenants,
      inject: [TenantClient],
      useFactory: (t: TenantClient) => new TenantClientAdapter(t),
    },
    WorkflowSchedulerService,
    ScheduleService,
  ],
  exports: [WorkflowSchedulerService],
})
export class SchedulingModule {}
