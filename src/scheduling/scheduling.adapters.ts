import type { Transaction } from 'src/database/transaction';
import type {
  ExecutionCommandsService,
  SlotContext,
} from 'src/executions/execution-commands.service';
import type { ExecutionQueriesService } from 'src/executions/execution-queries.service';
import type { TenantClient } from 'src/clients';
import type { Tenant } from 'src/clients/operation-registry';
import type { WorkflowsService } from 'src/workflows/workflows.service';
import {
  HandOverContext,
  HandOverWithin,
  LastRun,
  RunInProgress,
  ScheduledWorkflow,
  ScheduleExecutions,
  ScheduleTenants,
  ScheduleUpdateRequest,
  ScheduleWorkflows,
  SkippedSlotRequest,
  StartedRun,
  StartRunRequest,
} from './scheduling.ports';

/**
 * The ports bound to the real facades: one call each, so what the scheduler relies on is
 * visible in one place. Type-only imports: SchedulingModule hands the instances in.
 */

export class WorkflowsFacadeAdapter extends ScheduleWorkflows {
  constructor(private readonly workflows: WorkflowsService) {
    super();
  }
  listSchedulable(): Promise<ScheduledWorkflow[]> {
    return this.workflows.listSchedulable();
  }
  listAll(): Promise<ScheduledWorkflow[]> {
    return this.workflows.listAll();
  }
  get(idOrName: string): Promise<ScheduledWorkflow> {
    return this.workflows.get(idOrName);
  }
  claimSlot<T>(
    args: { workflowId: string; slot: Date; next: Date | null; term: string },
    handOver: (tx: Transaction) => Promise<T>,
  ): Promise<{ claimed: true; value: T } | { claimed: false }> {
    return this.workflows.claimSlot(args, handOver);
  }
  initNextExecution(
    workflowId: string,
    next: Date | null,
    expectedVersion: number,
  ): Promise<boolean> {
    return this.workflows.initNextExecution(workflowId, next, expectedVersion);
  }
  updateSchedules(
    updates: ScheduleUpdateRequest[],
  ): Promise<{ before: unknown; after: unknown }[]> {
    return this.workflows.updateSchedules(updates);
  }
}

export class ExecutionsFacadeAdapter extends ScheduleExecutions {
  constructor(
    private readonly commands: ExecutionCommandsService,
    private readonly queries: ExecutionQueriesService,
  ) {
    super();
  }
  prepareHandOver(workflowId: string, withTenants: boolean): Promise<HandOverContext> {
    return this.commands.prepareSlot(workflowId, withTenants);
  }
  async startRun(req: StartRunRequest, within?: HandOverWithin): Promise<StartedRun> {
    const { outcome, executionId } = await this.commands.startRun(req, inside(within));
    return { outcome, executionId };
  }
  recordSkippedSlot(req: SkippedSlotRequest, within?: HandOverWithin): Promise<void> {
    return this.commands.recordSkippedSlot(req, inside(within));
  }
  runInProgress(workflowId: string): Promise<RunInProgress | null> {
    return this.queries.runInProgress(workflowId);
  }
  async lastRun(workflowId: string): Promise<LastRun | null> {
    const { items } = await this.queries.list({
      workflow: workflowId,
      runs_only: 'true',
      limit: 1,
    });
    const last = items[0];
    return last
      ? {
          executionId: last.id,
          status: last.status,
          executionType: last.execution_type,
          scheduledFor: last.scheduled_for,
          startedAt: last.started_at,
          completedAt: last.completed_at,
        }
      : null;
  }
}

/** The context came from prepareHandOver, i.e. from ExecutionCommandsService.prepareSlot. */
function inside(within?: HandOverWithin) {
  return within
    ? { tx: within.tx, slot: within.context as SlotContext, now: within.now }
    : undefined;
}

export class TenantClientAdapter extends ScheduleTenants {
  constructor(private readonly client: TenantClient) {
    super();
  }
  listActiveTenants(): Promise<Tenant[]> {
    return this.client.listActiveTenants();
  }
}
