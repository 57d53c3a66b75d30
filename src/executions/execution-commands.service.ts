import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { Tenant } from 'src/clients/operation-registry';
import { IdempotencyService } from 'src/common/idempotency/idempotency.service';
import { Clock } from 'src/common/time/clock';
import { afterCommit, Transaction } from 'src/database/transaction';
import { WorkflowEntity } from 'src/workflows/workflow.entity';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { ExecuteWorkflowDto } from './dto/execution.dto';
import { ExecutionError, ExecutionErrorCode } from './execution.errors';
import { ExecutionType } from './execution.entity';
import { ExecutionQueriesService } from './execution-queries.service';
import { ExecutionsRepository, NewParent } from './executions.repository';
import { TenantDirectory } from './ports';
import { ExecutionDispatcher } from './runner/execution-dispatcher';
import { RunCompleter } from './runner/run-completer';
import { RunExpander } from './runner/run-expander';
import { orderTenants, tierPriority } from './tenant-order';
import {
  checkTenantIds,
  listTenantsOrThrow,
  selectTenants,
  TenantFilter,
} from './tenant-selection';

export interface StartRunRequest {
  workflowId: string;
  scheduledFor: Date;
  executionType: ExecutionType;
  leaderTerm: string | null;
  triggeredBy?: string | null;
  tenantFilter?: TenantFilter;
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

/**
 * The write side of the executions module: turns "run workflow W for slot S" into one
 * durable parent execution plus one per active tenant (idempotent on the slot key), and
 * carries out the operator commands (execute, retry, backfill through startRun). The
 * runners (ExecutionDispatcher) pick the work up from the table. Reads are in
 * ExecutionQueriesService.
 */
@Injectable()
export class ExecutionCommandsService {
  private readonly logger = new Logger(ExecutionCommandsService.name);

  constructor(
    private readonly repository: ExecutionsRepository,
    private readonly workflows: WorkflowsService,
    private readonly tenants: TenantDirectory,
    private readonly dispatcher: ExecutionDispatcher,
    private readonly completer: RunCompleter,
    private readonly expander: RunExpander,
    private readonly clock: Clock,
    private readonly queries: ExecutionQueriesService,
    private readonly idempotency: IdempotencyService,
  ) {}

  /** Reads what startRun/recordSkippedSlot need before the caller opens its transaction. */
  async prepareSlot(workflowId: string, withTenants: boolean): Promise<SlotContext> {
    const workflow = await this.workflows.get(workflowId);
    return {
      workflowId,
      workflow,
      tenants: withTenants ? await listTenantsOrThrow(this.tenants) : null,
    };
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
    opts: {
      exclusive?: boolean;
      within?: WithinTransaction;
      /** the command's answer, stored with the run when it runs under an Idempotency-Key */
      answer?: (result: StartRunResult) => unknown;
    } = {},
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

    const all = known ?? (await listTenantsOrThrow(this.tenants));
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
    let staged = false;
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
      const total = children.length;
      // a large new run commits its first batch with the rest staged beside it (the run is
      // whole at commit) and starts; RunExpander inserts the rest (not for a backfill of a
      // slot with runs: it copies done steps of the rows it inserts)
      const rest = existing ? [] : children.splice(this.expander.batchSize);
      const inserted = await this.repository.insertChildren(
        tx,
        id,
        { ...parent, stepsTotal: workflow.steps.length },
        children,
        resumeFrom.size > 0,
      );
      if (rest.length > 0) {
        await this.repository.stageChildren(tx, id, workflow.steps.length, parent.now, rest);
        staged = true;
      }
      await this.repository.copyCompletedSteps(
        tx,
        inserted
          .filter((c) => resumeFrom.has(c.tenant_id))
          .map((c) => ({ from: resumeFrom.get(c.tenant_id)!, to: c.id })),
      );
      return { outcome: 'started' as const, executionId: id, tenants: total };
    };
    const { answer } = opts;
    const result = within
      ? await insert(within.tx)
      : await this.repository.transaction(async (tx) => {
          const inserted: StartRunResult = await insert(tx);
          if (answer) await this.idempotency.answerWithin(tx, answer(inserted));
          return inserted;
        });
    if (result.outcome === 'started') {
      const announce = () => {
        this.logger.log({
          msg: 'run started',
          executionId: result.executionId,
          workflowId: workflow.id,
          workflowName: workflow.workflowName,
          executionType: req.executionType,
          scheduledFor: req.scheduledFor.toISOString(),
          tenants: result.tenants,
        });
        if (result.tenants === 0) this.completer.request([result.executionId]);
        this.dispatcher.wake();
        if (staged) void this.expander.expand();
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

  /** POST /workflows/{id}/execute. */
  async executeManually(idOrName: string, dto: ExecuteWorkflowDto, triggeredBy: string | null) {
    const workflow = await this.workflows.get(idOrName);
    if (dto.dry_run) {
      return { dry_run: true, ...(await this.queries.plan(workflow, dto.tenant_ids)) };
    }
    let known: Tenant[] | undefined; // listed once, for the check and the run
    if (dto.tenant_ids) {
      known = await listTenantsOrThrow(this.tenants);
      checkTenantIds(dto.tenant_ids, known);
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
      { exclusive: !dto.allow_concurrent, answer: manualRunAnswer },
    );
    return manualRunAnswer(result);
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
      const answer = {
        execution_id: retryId,
        retry_of_execution_id: original.id,
        tenants: failed.length,
      };
      // under an Idempotency-Key the answer commits with the retry (IdempotencyService)
      await this.idempotency.answerWithin(tx, answer);
      return answer;
    });
    this.dispatcher.wake();
    return created;
  }
}

function retryInProgress(originalId: string, retryId: string | null): ExecutionError {
  return new ExecutionError(
    ExecutionErrorCode.Conflict,
    `Execution ${originalId} is being retried by execution ${retryId ?? '(unknown)'}; wait for it to finish (GET /executions/${retryId ?? originalId})`,
  );
}

/** POST /workflows/{id}/execute's answer. */
function manualRunAnswer(result: StartRunResult) {
  return {
    execution_id: result.executionId,
    status: result.outcome === 'started' ? 'running' : 'duplicate',
  };
}
