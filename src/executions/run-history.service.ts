import { Injectable } from '@nestjs/common';
import { ExecutionsRepository } from './executions.repository';
import type { ExecutionStatus, ExecutionType } from './execution.entity';
import { ExecutionError } from './execution.errors';
import { toExecutionView, toStepView } from './execution.view';

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
 * finished executions, so the history API shows every automated run in one place, and
 * reads runs for the terminal (`runs`, `run-show`). Depends only on the repository: the
 * one-shot CLI can use it without starting runners, which would claim pending work.
 */
@Injectable()
export class RunHistoryService {
  constructor(private readonly repository: ExecutionsRepository) {}

  async recordStandaloneRun(run: StandaloneRun): Promise<string> {
    return this.repository.insertStandalone(run);
  }

  /** The latest runs (parent executions), newest first, with their tenants by status. */
  async listRuns(q: { workflowName?: string; status?: ExecutionStatus; limit: number }) {
    const runs = await this.repository.search({
      workflowName: q.workflowName,
      status: q.status ? [q.status] : undefined,
      parentsOnly: true,
      limit: q.limit,
    });
    return Promise.all(
      runs.map(async (r) => ({
        ...toExecutionView(r),
        tenants_by_status: await this.repository.statusCounts(r.id),
      })),
    );
  }

  /** One execution with its steps; a run also with each tenant execution's steps. */
  async showRun(id: string, childLimit = 1000) {
    const execution = await this.repository.findById(id);
    if (!execution) throw ExecutionError.notFound(id);
    const children =
      execution.tenantId === null ? await this.repository.children(id, childLimit) : [];
    const steps = await this.repository.stepsOf([execution.id, ...children.map((c) => c.id)]);
    const stepsOf = (executionId: string) =>
      steps
        .filter((s) => s.executionId === executionId)
        .map(toStepView)
        .sort((a, b) => a.index - b.index);
    return {
      ...toExecutionView(execution),
      tenants_by_status:
        execution.tenantId === null ? await this.repository.statusCounts(id) : undefined,
      steps: stepsOf(execution.id),
      children: children.map((c) => ({ ...toExecutionView(c), steps: stepsOf(c.id) })),
    };
  }
}
