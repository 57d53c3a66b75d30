import { Module } from '@nestjs/common';
import { ExecutionsRepository } from './executions.repository';
import { RunHistoryService } from './run-history.service';

/** The slice of the executions module a one-shot command may use: writing history, no runners. */
@Module({
  providers: [ExecutionsRepository, RunHistoryService],
  exports: [RunHistoryService],
})
export class ExecutionHistoryModule {}
