import type {
  OperationContext,
  OperationRegistry,
  OperationResult,
  StepResultSummary,
} from 'src/clients/operation-registry';
import { OPERATION_NAMES } from 'src/clients/operation-registry';
import { UpstreamError, UpstreamErrorCode } from 'src/clients/http/upstream.error';
import type { Transaction } from 'src/database/transaction';
import type { OutboxService } from 'src/events/outbox.service';
import type { OutboxMessage } from 'src/events/event-contracts';
import type {
  ExecutionsRepository,
  FinalState,
  LogRow,
  StepRow,
} from 'src/executions/executions.repository';
import type { ExecutionEntity, ExecutionStatus } from 'src/executions/execution.entity';
import type { WorkflowsService } from 'src/workflows/workflows.service';
import type { StepDefinition, WorkflowEntity } from 'src/workflows/workflow.entity';

/**
 * Small hand-written fakes of the engine core's collaborators (TenantRunner, StateWriter,
 * RunCompleter), for unit tests without a database or a network. Each keeps what a test
 * needs to see (calls, batches, events) and lets the test decide when an answer arrives,
 * so ordering is shown by holding a promise, never by a sleep.
 */

/** A promise the test settles by hand. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every callback queued so far (promise jobs, setImmediate) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A downstream answer with this HTTP status, as the clients throw it: 5xx may pass, 4xx not. */
export function upstreamError(status: number, attempts?: number): UpstreamError {
  return new UpstreamError({
    service: 'production',
    operation: 'production.generate_schedule',
    code: UpstreamErrorCode.HTTP_ERROR,
    retryable: status >= 500 || status === 408 || status === 429,
    status,
    ...(attempts !== undefined ? { attempts } : {}),
  });
}

/** What a scripted step does: answer (the default), throw, or wait for the test. */
export type StepScript = (ctx: OperationContext, call: number) => Promise<OperationResult>;

export interface OperationCall {
  operation: string;
  ctx: OperationContext;
  /** settles the call when its script is `held` */
  finished: boolean;
}

/**
 * The operation registry, scripted per step name. Records every call in the order it
 * started; a step with no script answers `{ step: <name> }`. Like the real clients, a
 * call rejects once its AbortSignal fires.
 */
export class ScriptedOperations implements OperationRegistry {
  readonly calls: OperationCall[] = [];
  private readonly scripts = new Map<string, StepScript>();
  private readonly holds = new Map<string, Deferred<OperationResult>>();
  private readonly summaries = new Map<string, (result: OperationResult) => StepResultSummary>();

  names(): string[] {
    return [...OPERATION_NAMES];
  }

  has(): boolean {
    return true;
  }

  /** Steps that fail with this error on every call. */
  failing(stepName: string, err: unknown): this {
    this.scripts.set(stepName, () => Promise.reject(err));
    return this;
  }

  /** A step whose call waits until the test answers it (`answer`/`fail`) or it is aborted. */
  held(stepName: string): this {
    const d = deferred<OperationResult>();
    this.holds.set(stepName, d);
    this.scripts.set(stepName, () => d.promise);
    return this;
  }

  answer(stepName: string, result: OperationResult = { step: stepName }): void {
    this.holds.get(stepName)!.resolve(result);
  }

  fail(stepName: string, err: unknown): void {
    this.holds.get(stepName)!.reject(err);
  }

  /** The one-line summary the registry gives for a step's answer. */
  summarizing(operation: string, fn: (result: OperationResult) => StepResultSummary): this {
    this.summaries.set(operation, fn);
    return this;
  }

  summarize(name: string, result: OperationResult): StepResultSummary | null {
    return this.summaries.get(name)?.(result) ?? null;
  }

  /** Step names in the order their calls started. */
  started(): string[] {
    return this.calls.map((c) => c.ctx.stepName);
  }

  /** Step names whose calls have started and not settled. */
  inFlight(): string[] {
    return this.calls.filter((c) => !c.finished).map((c) => c.ctx.stepName);
  }

  run(name: string, ctx: OperationContext): Promise<OperationResult> {
    const call: OperationCall = { operation: name, ctx, finished: false };
    this.calls.push(call);
    const script = this.scripts.get(ctx.stepName);
    const n = this.calls.filter((c) => c.ctx.stepName === ctx.stepName).length;
    const answer = script ? script(ctx, n) : Promise.resolve({ step: ctx.stepName });
    let abort = () => undefined as void;
    const aborted = new Promise<never>((_, reject) => {
      abort = () => reject(new Error(`aborted: ${String(ctx.signal.reason)}`));
      if (ctx.signal.aborted) abort();
      else ctx.signal.addEventListener('abort', abort, { once: true });
    });
    return Promise.race([answer, aborted]).finally(() => {
      call.finished = true;
      ctx.signal.removeEventListener('abort', abort);
    });
  }
}

/** One `writeState` call: a group commit's batch. */
export interface WrittenBatch {
  steps: StepRow[];
  logs: LogRow[];
  finals: FinalState[];
}

/** A tenant or parent execution as the fake store keeps it. */
export type StoredExecution = Pick<
  ExecutionEntity,
  | 'id'
  | 'workflowId'
  | 'workflowName'
  | 'tenantId'
  | 'parentExecutionId'
  | 'status'
  | 'createdAt'
  | 'completedAt'
  | 'stepsCompleted'
  | 'stepsFailed'
  | 'errorMessage'
  | 'resultSummary'
  | 'attempt'
  | 'leaseOwner'
  | 'durationSeconds'
>;

type Tables = {
  executions: Map<string, StoredExecution>;
  events: OutboxMessage[];
  outcomes: { workflowId: string; outcome: 'completed' | 'failed'; at: Date }[];
};

/**
 * The executions repository in memory: the group commit's `writeState` (batches recorded;
 * finals applied only where the lease is still held, like the SQL), and what RunCompleter
 * needs (`transaction`, `lockFinishedParents`, `childTotals`, `closeParent`). A
 * transaction works on the live tables and puts them back if its function throws, so the
 * outbox fake and the workflow outcomes written in it roll back with it. No locks: two
 * concurrent transactions both see what neither committed, which is what shows the
 * conditional updates doing their job.
 */
export class FakeExecutionStore implements Pick<
  ExecutionsRepository,
  'writeState' | 'transaction' | 'lockFinishedParents' | 'childTotals' | 'closeParent'
> {
  readonly batches: WrittenBatch[] = [];
  readonly tables: Tables = { executions: new Map(), events: [], outcomes: [] };
  transactions = 0;
  private commitGates: Deferred<void>[] = [];
  private commitFailures: Error[] = [];

  /** The next `writeState` waits for the returned gate (each call takes the next gate). */
  holdNextCommit(): Deferred<void> {
    const gate = deferred();
    this.commitGates.push(gate);
    return gate;
  }

  /** The next `writeState` fails with this error, after recording its batch. */
  failNextCommit(err: Error): void {
    this.commitFailures.push(err);
  }

  /** The repository as its consumers are typed (the fake has only what they call). */
  asRepository(): ExecutionsRepository {
    return this as unknown as ExecutionsRepository;
  }

  add(row: Partial<StoredExecution> & { id: string }): StoredExecution {
    const stored: StoredExecution = {
      workflowId: 'wf-1',
      workflowName: 'daily_operations',
      tenantId: null,
      parentExecutionId: null,
      status: 'running',
      createdAt: new Date('2026-06-01T05:00:00Z'),
      completedAt: null,
      stepsCompleted: 0,
      stepsFailed: 0,
      errorMessage: null,
      resultSummary: null,
      attempt: 1,
      leaseOwner: null,
      durationSeconds: null,
      ...row,
    };
    this.tables.executions.set(stored.id, stored);
    return stored;
  }

  get(id: string): StoredExecution | undefined {
    return this.tables.executions.get(id);
  }

  /** Step rows written so far, in commit order. */
  writtenSteps(): StepRow[] {
    return this.batches.flatMap((b) => b.steps);
  }

  async writeState(steps: StepRow[], logs: LogRow[], finals: FinalState[]): Promise<Set<string>> {
    this.batches.push({ steps, logs, finals });
    const gate = this.commitGates.shift();
    if (gate) await gate.promise;
    const failure = this.commitFailures.shift();
    if (failure) throw failure;
    const applied = new Set<string>();
    for (const f of finals) {
      const row = this.tables.executions.get(f.id);
      if (!row || row.leaseOwner !== f.owner || row.status !== 'running') continue;
      Object.assign(row, {
        status: f.status,
        completedAt: f.completedAt,
        durationSeconds: f.durationSeconds,
        stepsCompleted: f.stepsCompleted,
        stepsFailed: f.stepsFailed,
        errorMessage: f.errorMessage,
        resultSummary: f.resultSummary,
        attempt: f.attempt,
        leaseOwner: null,
      });
      applied.add(f.id);
    }
    return applied;
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    this.transactions++;
    const before = this.snapshot();
    try {
      return await fn({ fake: 'tx' } as unknown as Transaction);
    } catch (err) {
      this.restore(before);
      throw err;
    }
  }

  async lockFinishedParents(
    _tx: Transaction,
    parentIds: string[] | null,
  ): Promise<ExecutionEntity[]> {
    const open = (s: ExecutionStatus) => s === 'pending' || s === 'running';
    const rows = [...this.tables.executions.values()];
    const found = rows.filter(
      (p) =>
        p.tenantId === null &&
        open(p.status) &&
        (parentIds === null || parentIds.includes(p.id)) &&
        !rows.some((c) => c.parentExecutionId === p.id && open(c.status)),
    );
    // a round trip: a concurrent transaction may read before this one writes
    await Promise.resolve();
    return found.map((p) => ({ ...p }) as ExecutionEntity);
  }

  async childTotals(_tx: Transaction, parentId: string) {
    const children = [...this.tables.executions.values()].filter(
      (c) => c.parentExecutionId === parentId,
    );
    const count = (s: ExecutionStatus) => children.filter((c) => c.status === s).length;
    const unsuccessful = children
      .filter((c) => c.status === 'failed' || c.status === 'cancelled')
      .sort((a, b) => (b.completedAt?.getTime() ?? 0) - (a.completedAt?.getTime() ?? 0));
    const completedAts = children.flatMap((c) => (c.completedAt ? [c.completedAt.getTime()] : []));
    return {
      tenants: children.length,
      succeeded: count('completed'),
      failed: count('failed'),
      cancelled: count('cancelled'),
      steps_completed: children.reduce((n, c) => n + c.stepsCompleted, 0),
      steps_failed: children.reduce((n, c) => n + c.stepsFailed, 0),
      retries: children.reduce((n, c) => n + c.attempt - 1, 0),
      last_completed_at: completedAts.length > 0 ? new Date(Math.max(...completedAts)) : null,
      last_error: unsuccessful[0]?.errorMessage ?? null,
    };
  }

  async closeParent(
    _tx: Transaction,
    id: string,
    s: Parameters<ExecutionsRepository['closeParent']>[2],
  ): Promise<boolean> {
    const row = this.tables.executions.get(id);
    if (!row || (row.status !== 'pending' && row.status !== 'running')) return false;
    Object.assign(row, s);
    return true;
  }

  private snapshot(): Tables {
    return {
      executions: new Map([...this.tables.executions].map(([k, v]) => [k, { ...v }])),
      events: [...this.tables.events],
      outcomes: [...this.tables.outcomes],
    };
  }

  private restore(t: Tables): void {
    this.tables.executions.clear();
    for (const [k, v] of t.executions) this.tables.executions.set(k, v);
    this.tables.events.splice(0, this.tables.events.length, ...t.events);
    this.tables.outcomes.splice(0, this.tables.outcomes.length, ...t.outcomes);
  }
}

/** The outbox, writing into the fake store's tables (so a rolled-back transaction drops it). */
export class FakeOutbox implements Pick<OutboxService, 'enqueue'> {
  private failures: Error[] = [];

  constructor(private readonly store: FakeExecutionStore) {}

  /** The next enqueue throws (the transaction it is in rolls back). */
  failNext(err: Error): void {
    this.failures.push(err);
  }

  asService(): OutboxService {
    return this as unknown as OutboxService;
  }

  async enqueue(_tx: Transaction, messages: OutboxMessage[]): Promise<string[]> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.store.tables.events.push(...messages);
    return messages.map((_, i) => `event-${this.store.tables.events.length - i}`);
  }
}

/** The workflows facade's part RunCompleter uses, writing into the fake store's tables. */
export class FakeWorkflowOutcomes implements Pick<WorkflowsService, 'recordRunOutcome'> {
  constructor(private readonly store: FakeExecutionStore) {}

  asService(): WorkflowsService {
    return this as unknown as WorkflowsService;
  }

  async recordRunOutcome(
    _tx: Transaction,
    workflowId: string,
    outcome: 'completed' | 'failed',
    at: Date,
  ): Promise<void> {
    this.store.tables.outcomes.push({ workflowId, outcome, at });
  }
}

/** A workflow definition with these steps and the defaults of the daily workflow. */
export function workflowOf(
  steps: StepDefinition[],
  over: Partial<WorkflowEntity> = {},
): WorkflowEntity {
  return {
    id: 'wf-1',
    workflowName: 'daily_operations',
    timezone: 'Europe/Madrid',
    maxRetries: 3,
    retryDelaySeconds: 300,
    maxExecutionTimeSeconds: 3600,
    steps,
    ...over,
  } as WorkflowEntity;
}

/** A leased tenant execution of the run `run-1`, first attempt. */
export function tenantExecution(over: Partial<ExecutionEntity> = {}): ExecutionEntity {
  return {
    id: 'exec-1',
    workflowId: 'wf-1',
    workflowName: 'daily_operations',
    tenantId: 'tenant-1',
    parentExecutionId: 'run-1',
    scheduledFor: new Date('2026-06-01T04:00:00Z'),
    tenantTimezone: 'Europe/Madrid',
    status: 'running',
    attempt: 1,
    startedAt: null,
    ...over,
  } as ExecutionEntity;
}
