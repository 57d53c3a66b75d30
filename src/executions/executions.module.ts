import { Module } from '@nestjs/common';
import { PeriodicJobsModule } from 'src/common/jobs/periodic-jobs.module';
import { IdempotencyModule } from 'src/common/idempotency/idempotency.module';
import { Clock } from 'src/common/time/clock';
import { DatabaseClock } from 'src/database/database-clock';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { ExecutionsController, WorkflowRunsController } from './executions.controller';
import { ExecutionsRepository } from './executions.repository';
import { ExecutionsService } from './executions.service';
import { ExecutionHistoryModule } from './execution-history.module';
import { ResultCache } from './result-cache';
import { ExecutionDispatcher } from './runner/execution-dispatcher';
import { RunCompleter } from './runner/run-completer';
import { StateWriter } from './runner/state-writer';
import { TenantRunner } from './runner/tenant-runner';
import { TenantDirectory } from './ports';
import { TenantDirectoryAdapter } from './tenant-directory.adapter';

@Module({
  imports: [PeriodicJobsModule, WorkflowsModule, ExecutionHistoryModule, IdempotencyModule],
  controllers: [ExecutionsController, WorkflowRunsController],
  providers: [
    ExecutionsRepository,
    ExecutionsService,
    ExecutionDispatcher,
    RunCompleter,
    StateWriter,
    TenantRunner,
    ResultCache,
    { provide: TenantDirectory, useClass: TenantDirectoryAdapter },
    // what the engine stamps on executions (started_at, completed_at, deadlines, retry
    // times) comes from the database clock, the same authority slots fire by
    { provide: Clock, useExisting: DatabaseClock },
  ],
  exports: [ExecutionsService, ExecutionHistoryModule],
})
export class ExecutionsModule {}
