import { Injectable } from '@nestjs/common';
import { ExecutionsRepository } from './executions.repository';
import type { ExecutionStatus, ExecutionType } from './execution.entity';

export interface StandaloneRun {
  /** the job's name as history shows it, e.g. delivery_tracking */
  workflowName: string;
  executionType: ExecutionType;
  startedAt: Date;
  completedAt: Date;
  status: Extract<ExecutionStatus, 'completed' | 'failed' | 'cancelled'>;
  resultSummary: Record<string, unknown>;
  errorMessage: string | null;
  instanceId: string;
}

/**
 * Records jobs that run outside the workflow engine (the hourly delivery tracking) as
 * finished executions, so the history API shows every automated run in one place.
 * Depends only on the repository: the one-shot CLI can use it without starting runners.
 */
@Injectable()
export class RunHistoryService {
  constructor(private readonly repository: ExecutionsRepository) {}

  async recordStandaloneRun(run: StandaloneRun): Promise<string> {
    return this.repository.insertStandalone(run);
  }
}
