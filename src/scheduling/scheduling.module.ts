import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TenantClient } from 'src/clients';
import { IdempotencyModule } from 'src/common/idempotency/idempotency.module';
import { ExecutionsModule } from 'src/executions/executions.module';
import { ExecutionsService } from 'src/executions/executions.service';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { ScheduleController } from './schedule.controller';
import { ScheduleService } from './schedule.service';
import {
  ExecutionsFacadeAdapter,
  TenantClientAdapter,
  WorkflowsFacadeAdapter,
} from './scheduling.adapters';
import { ScheduleExecutions, ScheduleTenants, ScheduleWorkflows } from './scheduling.ports';
import { SchedulerSettings, WorkflowSchedulerService } from './workflow-scheduler.service';

/**
 * Cron + timezone + calendar -> slots, the leader-only scheduler and the schedule API.
 * Needs LeaderGate (LeaderModule), TenantClient (ClientsModule) and Clock, all global.
 */
@Module({
  imports: [ScheduleModule.forRoot(), WorkflowsModule, ExecutionsModule, IdempotencyModule],
  controllers: [ScheduleController],
  providers: [
    { provide: SchedulerSettings, useFactory: () => new SchedulerSettings() },
    {
      provide: ScheduleWorkflows,
      inject: [WorkflowsService],
      useFactory: (w: WorkflowsService) => new WorkflowsFacadeAdapter(w),
    },
    {
      provide: ScheduleExecutions,
      inject: [ExecutionsService],
      useFactory: (e: ExecutionsService) => new ExecutionsFacadeAdapter(e),
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
