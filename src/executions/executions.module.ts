import { Module } from '@nestjs/common';
import { PeriodicJobsModule } from 'src/common/jobs/periodic-jobs.module';
import { IdempotencyModule } from 'src/common/idempotency/idempotency.module';
import { Clock } from 'src/common/time/clock';
import { DatabaseClock } from 'src/database/database-clock';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { ExecutionsController, WorkflowRunsController } from './executions.controller';
import { ExecutionsRepository } from './executions.repository';
import { ExecutionCommandsService } from './execution-commands.service';
import { ExecutionListenersService } from './execution-listeners.service';
import { ExecutionQueriesService } from './execution-queries.service';
import { ExecutionHistoryModule } from './execution-history.module';
import { ExecutionDispatcher } from './runner/execution-dispatcher';
import { RunCompleter } from './runner/run-completer';
import { RunExpander } from './runner/run-expander';
import { StateWriter } from './runner/state-writer';
import { TenantRunner } from './runner/tenant-runner';
import { TenantDirectory } from './ports';
import { TenantDirectoryAdapter } from './tenant-directory.adapter';

@Module({
  imports: [PeriodicJobsModule, WorkflowsModule, ExecutionHistoryModule, IdempotencyModule],
  controllers: [ExecutionsController, WorkflowRunsController],
  providers: [
    ExecutionsRepository,
    ExecutionCommandsService,
    ExecutionQueriesService,
    ExecutionListenersService,
    ExecutionDispatcher,
    RunCompleter,
    RunExpander,
    StateWriter,
    TenantRunner,
    { provide: TenantDirectory, useClass: TenantDirectoryAdapter },
    // what the engine stamps on executions (started_at, completed_at, deadlines, retry
    // times) comes from the database clock, the same authority slots fire by
    { provide: Clock, useExisting: DatabaseClock },
  ],
  exports: [
    ExecutionCommandsService,
    ExecutionQueriesService,
    ExecutionListenersService,
    ExecutionHistoryModule,
  ],
})
export class ExecutionsModule {}
