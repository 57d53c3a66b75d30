import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { Tenant } from 'src/clients/operation-registry';
import { Clock } from 'src/common/time/clock';
import { afterCommit, Transaction } from 'src/database/transaction';
import { WorkflowEntity } from 'src/workflows/workflow.entity';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { stepLevels } from 'src/workflows/steps/step-graph';
import { ExecuteWorkflowDto, ListExecutionsQuery, PageQuery } from './dto/execution.dto';
import { ExecutionError, ExecutionErrorCode } from './execution.errors';
import { ExecutionEntity, ExecutionStatus, ExecutionType } from './execution.entity';
import {
  decodeCursor,
  encodeCursor,
  toExecutionView,
  toLogView,
  toStepView,
} from './execution.view';
import { ExecutionsRepository, NewParent } from './executions.repository';
import { TenantDirectory } from './ports';
import { ExecutionDispatcher } from './runner/execution-dispatcher';
import { ClosedRun, RunCompleter } from './runner/run-completer';
import { FinishedStep, TenantRunner } from './runner/tenant-runner';
import { orderTenants, tierPriority } from './tenant-order';

export interface StartRunRequest {
  workflowId: string;
  scheduledFor: Date;
  executionType: ExecutionType;
  leaderTerm: string | null;
  triggeredBy?: string | null;
  tenantFilter?: { timezones?: string[]; tenantIds?: string[] };
}

/**
 * What a hand-over inside another module's transaction (the scheduler's slot claim) reads
 * first: the definition and, for a run, the tenants. Read before the transaction opens, so
 * no HTTP call and no other module's read happens while it holds its locks.
 */
export interface SlotContext {
  workflowId: string;
  workflow: WorkflowEntity;
  tenants: Tenant[] | null;
}

/** The caller's open transaction, its prepared context and the authoritative time. */
export interface WithinTransaction {
  tx: Transaction;
  slot: SlotContext;
  /** created_at/deadline of what is written (the scheduler passes the database clock) */
  now: Date;
}

export type StartRunResult =
  | { outcome: 'started'; executionId: string; tenants: number }
  | { outcome: 'duplicate'; executionId: string };

const CHILDREN_IN_DETAIL = 1000;

/**
 * Facade of the executions module: turns "run workflow W for slot S" into one durable
 * parent execution plus one per active tenant (idempotent on the slot key), and answers
 * the history API. The runners (ExecutionDispatcher) pick the work up from the table.
 */
@Injectable()
export class ExecutionsService {
  private readonly logger = new Logger(ExecutionsService.name);

  constructor(
    private readonly repository: ExecutionsRepository,
    private readonly workflows: WorkflowsService,
    private readonly tenants: TenantDirectory,
    private readonly dispatcher: ExecutionDispatcher,
    private readonly completer: RunCompleter,
    private readonly clock: Clock,
    private readonly runner: TenantRunner,
  ) {}

  /** Called with each run after its final status is committed (metrics, alerts). */
  onRunClosed(listener: (run: ClosedRun) => void): void {
    this.completer.onRunClosed(listener);
  }

  /** Called after each step attempt's outcome is written (step metrics, cost tracking). */
  onStepFinished(listener: (step: FinishedStep) => void): void {
    this.runner.onStepFinished(listener);
  }

  /** Reads what startRun/recordSkippedSlot need before the caller opens its transaction. */
  async prepareSlot(workflowId: string, withTenants: boolean): Promise<SlotContext> {
    const workflow = await this.workflows.get(workflowId);
    return { workflowId, workflow, tenants: withTenants ? await this.listTenants() : null };
  }

  /**
   * Starts a run; `within` writes it in the caller's transaction (the slot claim), so claim
   * and run commit together, and wakes the runners only once that commits.
   */
  async startRun(req: StartRunRequest, within?: WithinTransaction): Promise<StartRunResult> {
    if (within) {
      if (!within.slot.tenants) throw new Error('startRun within a transaction needs the tenants');
      return this.start(within.slot.workflow, req, within.slot.tenants, { within });
    }
    return this.start(await this.workflows.get(req.workflowId), req);
  }

  /**
   * `known`: every tenant, when the caller has just listed them (to check tenant_ids).
   * `exclusive`: refuse (409) when a run of the workflow is open, checked under a lock in
   * the transaction that inserts the run.
   */
  private async start(
    workflow: WorkflowEntity,
    req: StartRunRequest,
    known?: Tenant[],
    opts: { exclusive?: boolean; within?: WithinTransaction } = {},
  ): Promise<StartRunResult> {
    const { within } = opts;
    // a manual run takes a slot of its own (insertParentAtFreeSlot): no slot to share
    const existing =
      req.executionType === 'manual'
        ? null
        : await this.repository.existingParent(workflow.id, req.scheduledFor, within?.tx);
    if (existing && req.executionType !== 'backfill') {
      return { outcome: 'duplicate', executionId: existing.id };
    }

    const all = known ?? (await this.listTenants());
    const { selected, skipped } = selectTenants(all, req.tenantFilter);
    const now = within?.now ?? this.clock.now();
    const parent: NewParent = {
      workflowId: workflow.id,
      workflowName: workflow.workflowName,
      executionType: req.executionType,
      triggeredBy: req.triggeredBy ?? null,
      scheduledFor: req.scheduledFor,
      retryOf: null,
      leaderTerm: req.leaderTerm,
      deadlineAt: new Date(now.getTime() + workflow.maxExecutionTimeSeconds * 1000),
      stepsTotal: workflow.steps.length * selected.length,
      status: 'running',
      resultSummary: {
        tenants_total: all.length,
        tenants_selected: selected.length,
        tenants_skipped: skipped,
      },
      now,
    };
    const insert = async (tx: Transaction) => {
      if (opts.exclusive) {
        const open = await this.repository.lockRunsOf(tx, workflow.id);
        if (open) {
          throw new ExecutionError(
            ExecutionErrorCode.Conflict,
            `A run of ${workflow.workflowName} is in progress (execution ${open}); wait for it, or send allow_concurrent: true`,
          );
        }
      }
      let tenants = selected;
      let resumeFrom = new Map<string, string>();
      if (existing) {
        // a backfill of a slot that already has a run (skipped, failed, partly done):
        // a run linked to it for the tenants no run of the slot completed, each once
        const slot = await this.repository.lockSlot(tx, workflow.id, req.scheduledFor);
        if (slot.inProgress) return { outcome: 'duplicate' as const, executionId: slot.inProgress };
        tenants = selected.filter((t) => !slot.completedTenants.has(t.id));
        if (tenants.length === 0)
          return { outcome: 'duplicate' as const, executionId: existing.id };
        parent.retryOf = existing.id;
        parent.stepsTotal = workflow.steps.length * tenants.length;
        parent.resultSummary = {
          ...parent.resultSummary,
          backfill_of: existing.id,
          tenants_selected: tenants.length,
        };
        resumeFrom = slot.latestChildByTenant;
      }
      let id: string;
      if (req.executionType === 'manual') {
        ({ id, scheduledFor: parent.scheduledFor } = await this.repository.insertParentAtFreeSlot(
          tx,
          parent,
        ));
      } else {
        const inserted = await this.repository.insertParent(tx, parent);
        if (!inserted.created) return { outcome: 'duplicate' as const, executionId: inserted.id };
        id = inserted.id;
      }
      const children = orderTenants(tenants).map((t) => ({
        tenantId: t.id,
        priority: tierPriority(t.subscription_tier),
        timezone: t.timezone ?? null,
      }));
      const inserted = await this.repository.insertChildren(
        tx,
        id,
        { ...parent, stepsTotal: workflow.steps.length },
        children,
        resumeFrom.size > 0,
      );
      await this.repository.copyCompletedSteps(
        tx,
        inserted
          .filter((c) => resumeFrom.has(c.tenant_id))
          .map((c) => ({ from: resumeFrom.get(c.tenant_id)!, to: c.id })),
      );
      return { outcome: 'started' as const, executionId: id, tenants: children.length };
    };
    const result = within ? await insert(within.tx) : await this.repository.transaction(insert);
    if (result.outcome === 'started') {
      const announce = () => {
        this.logger.log(
          `run ${result.executionId} of ${workflow.workflowName} for ${req.scheduledFor.toISOString()}: ${result.tenants} tenants`,
        );
        if (result.tenants === 0) this.completer.request([result.executionId]);
        this.dispatcher.wake();
      };
      if (within) afterCommit(within.tx, announce);
      else announce();
    }
    return result;
  }

  /** A slot that will not run (holiday, weekend, missed, overlap): history says why. */
  async recordSkippedSlot(
    req: {
      workflowId: string;
      scheduledFor: Date;
      reason: string;
      leaderTerm: string | null;
    },
    within?: WithinTransaction,
  ): Promise<void> {
    const workflow = within?.slot.workflow ?? (await this.workflows.get(req.workflowId));
    const now = within?.now ?? this.clock.now();
    const insert = (tx: Transaction) =>
      this.repository.insertParent(tx, {
        workflowId: workflow.id,
        workflowName: workflow.workflowName,
        executionType: 'scheduled',
        triggeredBy: null,
        scheduledFor: req.scheduledFor,
        retryOf: null,
        leaderTerm: req.leaderTerm,
        deadlineAt: now,
        stepsTotal: 0,
        status: 'skipped',
        errorMessage: req.reason,
        resultSummary: { skipped_reason: req.reason },
        now,
      });
    await (within ? insert(within.tx) : this.repository.transaction(insert));
  }

  hasRunInProgress(workflowId: string): Promise<boolean> {
    return this.repository.hasRunInProgress(workflowId);
  }

  /** The newest unfinished run (for the scheduler's overlap decision), or null. */
  runInProgress(workflowId: string) {
    return this.repository.runInProgress(workflowId);
  }

  /** POST /workflows/{id}/execute. */
  async executeManually(idOrName: string, dto: ExecuteWorkflowDto, triggeredBy: string | null) {
    const workflow = await this.workflows.get(idOrName);
    if (dto.dry_run) {
      return { dry_run: true, ...(await this.plan(workflow, dto.tenant_ids)) };
    }
    let known: Tenant[] | undefined; // listed once, for the check and the run
    if (dto.tenant_ids) {
      known = await this.listTenants();
      this.checkTenantIds(dto.tenant_ids, known);
    }
    const result = await this.start(
      workflow,
      {
        workflowId: workflow.id,
        scheduledFor: this.clock.now(),
        executionType: 'manual',
        leaderTerm: null,
        triggeredBy,
        tenantFilter: dto.tenant_ids ? { tenantIds: dto.tenant_ids } : undefined,
      },
      known,
      { exclusive: !dto.allow_concurrent },
    );
    return {
      execution_id: result.executionId,
      status: result.outcome === 'started' ? 'running' : 'duplicate',
    };
  }

  /**
   * Re-runs what is still failed: of the execution's tenants (a run's, or the one tenant
   * execution's), those with no completed attempt at the slot, each resuming at the steps
   * its latest attempt did not complete. The slot stays the original's, so downstream
   * idempotency keys repeat. One retry at a time: the retry claims the original run with a
   * compare-and-set of `active_retry_id` and takes the slot's lock (shared with backfill),
   * both in the transaction that creates it; a second one gets a 409 naming the first.
   */
  async retry(executionId: string, triggeredBy: string | null) {
    const target = await this.repository.findById(executionId);
    if (!target) throw ExecutionError.notFound(executionId);
    const run =
      target.tenantId === null ? target : await this.repository.findById(target.parentExecutionId!);
    if (!run || !run.workflowId) throw ExecutionError.notFound(executionId);
    if (['pending', 'running'].includes(run.status)) {
      throw new ExecutionError(
        ExecutionErrorCode.Conflict,
        `Execution ${run.id} is still ${run.status}; retry it once it has finished`,
      );
    }
    // retries and backfills link to the slot's original run, so the chain is one hop deep
    const original = run.retryOfExecutionId
      ? ((await this.repository.findById(run.retryOfExecutionId)) ?? run)
      : run;
    const scope = target.tenantId === null ? await this.repository.children(run.id) : [target];
    const workflow = await this.workflows.get(run.workflowId);
    const now = this.clock.now();
    const retryId = randomUUID();
    const created = await this.repository.transaction(async (tx) => {
      const claim = await this.repository.claimRetry(
        tx,
        original.id,
        original.activeRetryId,
        retryId,
      );
      if (!claim.claimed) throw retryInProgress(original.id, claim.current);
      const slot = await this.repository.lockSlot(tx, workflow.id, original.scheduledFor);
      if (slot.inProgress) throw retryInProgress(original.id, slot.inProgress);
      const failed = scope.filter((c) => !slot.completedTenants.has(c.tenantId!));
      if (failed.length === 0) {
        throw new ExecutionError(
          ExecutionErrorCode.Conflict,
          `Execution ${target.id} has nothing left that failed: every tenant of it completed at this slot (GET /executions/${original.id} shows recovered_by)`,
        );
      }
      const draft: NewParent = {
        id: retryId,
        workflowId: workflow.id,
        workflowName: workflow.workflowName,
        executionType: 'retry',
        triggeredBy,
        scheduledFor: original.scheduledFor,
        retryOf: original.id,
        leaderTerm: null,
        deadlineAt: new Date(now.getTime() + workflow.maxExecutionTimeSeconds * 1000),
        stepsTotal: workflow.steps.length * failed.length,
        status: 'running',
        resultSummary: { retry_of: original.id, tenants_selected: failed.length },
        now,
      };
      await this.repository.insertParent(tx, draft);
      const fresh = await this.repository.insertChildren(
        tx,
        retryId,
        { ...draft, stepsTotal: workflow.steps.length },
        failed.map((c) => ({
          tenantId: c.tenantId!,
          priority: c.priority,
          timezone: c.tenantTimezone,
        })),
      );
      await this.repository.copyCompletedSteps(
        tx,
        fresh
          .filter((c) => slot.latestChildByTenant.has(c.tenant_id))
          .map((c) => ({ from: slot.latestChildByTenant.get(c.tenant_id)!, to: c.id })),
      );
      return failed.length;
    });
    this.dispatcher.wake();
    return { execution_id: retryId, retry_of_execution_id: original.id, tenants: created };
  }

  async list(q: ListExecutionsQuery, opts: { stillFailed?: boolean } = {}) {
    const limit = q.limit ?? 50;
    const cursor = q.cursor ? this.cursorOrThrow(q.cursor) : undefined;
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
    const after = q.cursor ? this.cursorOrThrow(q.cursor) : null;
    const rows = await this.repository.logs(id, after, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toLogView),
      next_cursor: rows.length > limit && last ? encodeCursor(last.loggedAt, last.id) : null,
    };
  }

  /** The plan of a dry run: who would run, in which order, and the steps by level. */
  private async plan(workflow: WorkflowEntity, tenantIds?: string[]) {
    const all = await this.listTenants();
    if (tenantIds) this.checkTenantIds(tenantIds, all);
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

  private checkTenantIds(ids: string[], all: Tenant[]): void {
    const known = new Map(all.map((t) => [t.id, t]));
    const problems = ids.flatMap((id, i) => {
      const t = known.get(id);
      if (!t) return [{ field: `tenant_ids[${i}]`, message: `unknown tenant ${id}` }];
      if (t.status !== 'active')
        return [{ field: `tenant_ids[${i}]`, message: `tenant ${id} is ${t.status}` }];
      return [];
    });
    if (problems.length > 0) {
      throw new ExecutionError(
        ExecutionErrorCode.Invalid,
        problems.map((p) => `${p.field}: ${p.message}`).join('; '),
        problems,
      );
    }
  }

  private async listTenants(): Promise<Tenant[]> {
    try {
      return await this.tenants.listTenants();
    } catch (err) {
      throw new ExecutionError(
        ExecutionErrorCode.TenantsUnavailable,
        `cannot list tenants from the tenant service: ${(err as Error).message}`,
      );
    }
  }

  private cursorOrThrow(cursor: string) {
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
}

function retryInProgress(originalId: string, retryId: string | null): ExecutionError {
  return new ExecutionError(
    ExecutionErrorCode.Conflict,
    `Execution ${originalId} is being retried by execution ${retryId ?? '(unknown)'}; wait for it to finish (GET /executions/${retryId ?? originalId})`,
  );
}

function selectTenants(all: Tenant[], filter?: StartRunRequest['tenantFilter']) {
  const skipped: Record<string, number> = {};
  const selected: Tenant[] = [];
  const ids = filter?.tenantIds ? new Set(filter.tenantIds) : null;
  const zones = filter?.timezones ? new Set(filter.timezones) : null;
  for (const t of all) {
    if (ids && !ids.has(t.id)) continue;
    if (zones && !zones.has(t.timezone)) continue;
    if (t.status !== 'active') {
      skipped[t.status] = (skipped[t.status] ?? 0) + 1;
      continue;
    }
    selected.push(t);
  }
  return { selected, skipped };
}

export type { ClosedRun, ExecutionStatus, FinishedStep };
