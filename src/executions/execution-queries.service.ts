import { Injectable } from '@nestjs/common';
import { WorkflowEntity } from 'src/workflows/workflow.entity';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { stepLevels } from 'src/workflows/steps/step-graph';
import { ListExecutionsQuery, PageQuery } from './dto/execution.dto';
import { ExecutionError, ExecutionErrorCode } from './execution.errors';
import { ExecutionEntity } from './execution.entity';
import {
  decodeCursor,
  encodeCursor,
  toExecutionView,
  toLogView,
  toStepView,
} from './execution.view';
import { ExecutionsRepository } from './executions.repository';
import { TenantDirectory } from './ports';
import { checkTenantIds, listTenantsOrThrow, selectTenants } from './tenant-selection';
import { orderTenants } from './tenant-order';

const CHILDREN_IN_DETAIL = 1000;

/**
 * The read side of the executions module: history (list, failed, detail with retry links,
 * progress, logs), the scheduler's "is a run open" questions and the plan of a dry run.
 * Nothing here writes; what mutates is in ExecutionCommandsService.
 */
@Injectable()
export class ExecutionQueriesService {
  constructor(
    private readonly repository: ExecutionsRepository,
    private readonly workflows: WorkflowsService,
    private readonly tenants: TenantDirectory,
  ) {}

  /** The newest unfinished run (for the scheduler's overlap decision), or null. */
  runInProgress(workflowId: string) {
    return this.repository.runInProgress(workflowId);
  }

  async list(q: ListExecutionsQuery, opts: { stillFailed?: boolean } = {}) {
    const limit = q.limit ?? 50;
    const cursor = q.cursor ? cursorOrThrow(q.cursor) : undefined;
    const workflowId = q.workflow ? (await this.workflows.get(q.workflow)).id : undefined;
    const rows = await this.repository.search({
      workflowId,
      tenantId: q.tenant_id,
      status: q.status ? [q.status] : undefined,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      parentsOnly: q.runs_only === 'true',
      stillFailed: opts.stillFailed,
      cursor: cursor ? { createdAt: cursor.at, id: cursor.id } : undefined,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toExecutionView),
      next_cursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
    };
  }

  /** Failures nobody fixed: a tenant recovered by a retry or a backfill drops out. */
  failed(q: PageQuery) {
    return this.list({ status: 'failed', cursor: q.cursor, limit: q.limit }, { stillFailed: true });
  }

  async detail(id: string) {
    const execution = await this.repository.findById(id);
    if (!execution) throw ExecutionError.notFound(id);
    const workflow = execution.workflowId
      ? await this.workflows.getMany([execution.workflowId])
      : new Map();
    const definition: WorkflowEntity | undefined = workflow.get(execution.workflowId);
    const children =
      execution.tenantId === null ? await this.repository.children(id, CHILDREN_IN_DETAIL) : [];
    const subjects = execution.tenantId === null ? children : [execution];
    const steps = await this.repository.stepsOf(subjects.map((c) => c.id));
    const stepsByExecution = new Map<string, ReturnType<typeof toStepView>[]>();
    for (const s of steps) {
      if (!stepsByExecution.has(s.executionId)) stepsByExecution.set(s.executionId, []);
      stepsByExecution.get(s.executionId)!.push(toStepView(s));
    }
    // steps not yet written are shown from the definition, as pending
    const withPending = (executionId: string) => {
      const known = stepsByExecution.get(executionId) ?? [];
      const names = new Set(known.map((s) => s.name));
      const pending = (definition?.steps ?? [])
        .map((s, index) => ({ s, index }))
        .filter(({ s }) => !names.has(s.name))
        .map(({ s, index }) => ({
          name: s.name,
          index,
          status: 'pending',
          attempts: 0,
          started_at: null,
          completed_at: null,
          error_message: null,
          result_summary: null,
        }));
      return [...known, ...pending].sort((a, b) => a.index - b.index);
    };
    const view = toExecutionView(execution);
    if (execution.tenantId !== null) {
      return {
        ...view,
        ...(await this.tenantRecovery(execution)),
        steps: withPending(execution.id),
      };
    }
    const counts = await this.repository.statusCounts(id);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return {
      ...view,
      ...(await this.runRecovery(execution, children, total)),
      progress: { tenants_total: total, by_status: counts },
      children: children.map((c) => ({ ...toExecutionView(c), steps: withPending(c.id) })),
      children_truncated: total > children.length,
    };
  }

  /**
   * A run's retries (and backfills of its slot), the one in progress, and the one that
   * recovered it: the run whose tenant execution completed last among the tenants this
   * run lost, once every one of them has completed at the slot.
   */
  private async runRecovery(run: ExecutionEntity, children: ExecutionEntity[], total: number) {
    const linked = await this.repository.linkedRuns(run.id);
    const open = linked.find((r) => ['pending', 'running'].includes(r.status));
    let lost = children.filter((c) => ['failed', 'cancelled'].includes(c.status));
    if (total > children.length) {
      lost = await this.repository.children(run.id, undefined, ['failed', 'cancelled']);
    }
    let recoveredBy: string | null = null;
    if (lost.length > 0 && run.workflowId) {
      const done = await this.repository.completedAttempts(
        run.workflowId,
        run.scheduledFor,
        lost.map((c) => c.tenantId!),
      );
      if (done.length === lost.length) {
        recoveredBy = done.reduce((a, b) => (a.completedAt >= b.completedAt ? a : b)).parentId;
      }
    }
    return {
      retried_by: linked.map((r) => ({
        execution_id: r.id,
        execution_type: r.executionType,
        status: r.status,
        created_at: r.createdAt,
      })),
      retry_in_progress: open?.id ?? null,
      recovered_by: recoveredBy,
    };
  }

  /** A tenant execution's later attempts at its slot, and the one that completed it. */
  private async tenantRecovery(execution: ExecutionEntity) {
    const later = execution.workflowId ? await this.repository.laterAttempts(execution) : [];
    const fixed =
      execution.status === 'completed' ? undefined : later.find((x) => x.status === 'completed');
    return {
      retried_by: later.map((x) => ({
        execution_id: x.id,
        run_id: x.parentExecutionId,
        status: x.status,
        created_at: x.createdAt,
      })),
      recovered_by: fixed?.id ?? null,
    };
  }

  /** Cheap progress of a run: its status and its tenants counted by status. */
  async progress(id: string) {
    const execution = await this.repository.findById(id);
    if (!execution) throw ExecutionError.notFound(id);
    const byStatus = await this.repository.statusCounts(id);
    return {
      status: execution.status,
      tenants_total: Object.values(byStatus).reduce((a, b) => a + b, 0),
      by_status: byStatus,
      result_summary: execution.resultSummary,
      error_message: execution.errorMessage,
    };
  }

  async logs(id: string, q: PageQuery) {
    const execution = await this.repository.findById(id);
    if (!execution) throw ExecutionError.notFound(id);
    const limit = q.limit ?? 200;
    const after = q.cursor ? cursorOrThrow(q.cursor) : null;
    const rows = await this.repository.logs(id, after, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toLogView),
      next_cursor: rows.length > limit && last ? encodeCursor(last.loggedAt, last.id) : null,
    };
  }

  /** The plan of a dry run: who would run, in which order, and the steps by level. */
  async plan(workflow: WorkflowEntity, tenantIds?: string[]) {
    const all = await listTenantsOrThrow(this.tenants);
    if (tenantIds) checkTenantIds(tenantIds, all);
    const { selected, skipped } = selectTenants(all, tenantIds ? { tenantIds } : undefined);
    return {
      workflow: workflow.workflowName,
      tenants: orderTenants(selected).map((t) => ({
        id: t.id,
        name: t.name,
        subscription_tier: t.subscription_tier,
      })),
      tenants_skipped: skipped,
      step_levels: stepLevels(workflow.steps),
      calls: selected.length * workflow.steps.length,
    };
  }
}

function cursorOrThrow(cursor: string) {
  const decoded = decodeCursor(cursor);
  if (!decoded) {
    throw new ExecutionError(
      ExecutionErrorCode.Invalid,
      'cursor is not a next_cursor value from a previous page',
      [{ field: 'cursor', message: 'not a next_cursor value from a previous page' }],
    );
  }
  return decoded;
}
