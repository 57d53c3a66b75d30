import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { Clock } from 'src/common/time/clock';
import { AppConfig } from 'src/config/app-config.service';
import { InstanceIdentity } from 'src/config/instance-identity';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { ClaimedExecution, ExecutionsRepository } from '../executions.repository';
import type { ExecutionEntity } from '../execution.entity';
import type { WorkflowEntity } from 'src/workflows/workflow.entity';
import { RunCompleter } from './run-completer';
import { RunDeadlines } from './run-deadlines';
import { RunExpander } from './run-expander';
import { StateWriter } from './state-writer';
import { AbortReason, TenantRunner } from './tenant-runner';

/** Claimed, leased and prepared, waiting for a free slot. */
interface Ready {
  execution: ClaimedExecution;
  workflow: WorkflowEntity | undefined;
  completed: Map<string, unknown>;
}

interface InFlight {
  execution: ExecutionEntity;
  controller: AbortController;
  /** stops listening for the run's deadline once the execution is done */
  disarmDeadline: () => void;
  done: Promise<void>;
}

const CLAIM_BATCH = 100;
const SWEEP_INTERVAL_MS = 5000;
export const LEASE_RENEW_JOB = 'execution-dispatcher.renew-leases';
export const SWEEP_JOB = 'execution-dispatcher.sweep';

/**
 * The one claimer of this instance (docs/performance.md "Where queues go wrong"): it
 * claims tenant work in batches while it has free capacity and goes straight back for
 * more; it sleeps only when the queue is empty, until woken by new work or the poll
 * interval. It renews the leases of what it runs, aborts what it no longer owns, and on
 * shutdown hands unfinished work back so another instance resumes it at once.
 */
@Injectable()
export class ExecutionDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ExecutionDispatcher.name);
  /** lease_owner and executed_by_instance of what it claims: this instance's id */
  readonly owner: string;
  /** tenants calling downstream services: at most EXECUTION_CONCURRENCY */
  private readonly inFlight = new Map<string, InFlight>();
  /**
   * tenants whose calls are done, waiting for their rows and final state to commit: they
   * hold their lease (renewed) but not a slot, so the next tenant starts calling at once
   * instead of after a commit (bench/fanout, with the commit interval: wall time -6 % at
   * 10,000 tenants)
   */
  private readonly finishing = new Map<string, InFlight>();
  /**
   * runs one of whose tenants ended while this instance held others of the run: the
   * completer is asked once it holds none (asking at every tenant's end cost a check of the
   * run's open tenants each 20 ms, 2.8 s of PostgreSQL at 50,000 tenants, bench/fanout)
   */
  private readonly owed = new Set<string>();
  /** the run deadlines the executions here wait on, one timer per run */
  private readonly deadlines = new RunDeadlines();
  /** claimed ahead, so a finished tenant's slot is refilled at once, not after a claim */
  private readonly ready: Ready[] = [];
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private readonly maxInFlight: number;
  private readonly stepConcurrency: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly minClaim: number;
  private readonly prefetch: number;

  constructor(
    private readonly repository: ExecutionsRepository,
    private readonly workflows: WorkflowsService,
    private readonly runner: TenantRunner,
    private readonly writer: StateWriter,
    private readonly completer: RunCompleter,
    private readonly expander: RunExpander,
    private readonly clock: Clock,
    config: AppConfig,
    identity: InstanceIdentity,
    private readonly jobs: PeriodicJobs,
  ) {
    this.owner = identity.id;
    this.maxInFlight = config.get('EXECUTION_CONCURRENCY');
    this.stepConcurrency = config.get('STEP_CONCURRENCY');
    this.leaseMs = config.get('EXECUTION_LEASE_SECONDS') * 1000;
    this.pollMs = config.get('EXECUTION_POLL_MS');
    this.minClaim = Math.max(1, Math.floor(this.maxInFlight / 5));
    this.prefetch = this.minClaim * 2;
    // a batch of a new run's tenants was inserted: claim it now, not at the next poll
    expander.onBatch(() => this.wake());
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.claimLoop();
    // on every instance: each renews and sweeps what it runs itself
    this.jobs.register(
      LEASE_RENEW_JOB,
      { everyMs: Math.max(500, this.leaseMs / 3) },
      { leaderOnly: false, run: () => this.renewLeases() },
    );
    this.jobs.register(
      SWEEP_JOB,
      { everyMs: SWEEP_INTERVAL_MS },
      { leaderOnly: false, run: () => this.sweep() },
    );
    // a run left open by a crash between a tenant's commit and its parent's check
    void this.completer.flush(true);
    // a run whose tenants were still being inserted when its creator stopped or crashed
    this.expander.start();
    void this.expander.expand();
  }

  /** New work exists: claim now rather than at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  get running(): number {
    return this.inFlight.size;
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopping) {
      this.startReady();
      // claim in batches and ahead: one claim per finished tenant would cap throughput
      // at the claim's round trip (docs/performance.md), and claiming only once slots
      // are free would leave them idle for that round trip; so claim at least a fifth
      // of the slots at a time, up to a buffer of two fifths beyond them
      const room = this.maxInFlight + this.prefetch - this.inFlight.size - this.ready.length;
      if (room < this.minClaim && this.inFlight.size + this.ready.length > 0) {
        await this.waitForWake(this.pollMs);
        continue;
      }
      let claimed: ClaimedExecution[] = [];
      try {
        claimed = await this.repository.claim(
          this.owner,
          Math.min(room, CLAIM_BATCH),
          this.leaseMs,
        );
        if (claimed.length > 0) this.ready.push(...(await this.prepare(claimed)));
      } catch (err) {
        this.logger.warn({ msg: 'claiming work failed', error: (err as Error).message });
        await this.waitForWake(this.pollMs);
        continue;
      }
      if (claimed.length === 0) await this.waitForWake(this.pollMs);
    }
  }

  private waitForWake(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }

  /** Loads what claimed work needs to start: its definition and, when resumed, its done steps. */
  private async prepare(claimed: ClaimedExecution[]): Promise<Ready[]> {
    const [definitions, completed] = await Promise.all([
      this.workflows.getMany([...new Set(claimed.map((e) => e.workflowId!))]),
      this.repository.completedSteps(claimed.filter((e) => e.resumed).map((e) => e.id)),
    ]);
    return claimed.map((execution) => ({
      execution,
      workflow: definitions.get(execution.workflowId!),
      completed: completed.get(execution.id) ?? new Map(),
    }));
  }

  /**
   * Fills free slots from the buffer: at most EXECUTION_CONCURRENCY tenants calling, and at
   * most twice as many finishing (their rows waiting to commit). Without the second bound a
   * database that commits slowly while claims still succeed would let finishing tenants,
   * their leases and their results in memory, pile up without limit. It is twice, not
   * once, so that it does not bind in normal work: bench/fanout at 100 saw up to 98
   * finishing at once behind a slow commit.
   */
  private startReady(): void {
    while (
      !this.stopping &&
      this.inFlight.size < this.maxInFlight &&
      this.finishing.size < 2 * this.maxInFlight &&
      this.ready.length > 0
    ) {
      this.launch(this.ready.shift()!);
    }
  }

  private launch({ execution, workflow, completed }: Ready): void {
    // the attempt starts now, not when it was claimed into the buffer
    if (!execution.resumed) execution.startedAt = this.clock.now();
    const controller = new AbortController();
    const entry: InFlight = {
      execution,
      controller,
      disarmDeadline: () => undefined,
      done: Promise.resolve(),
    };
    if (execution.deadlineAt) {
      const deadlineAt = execution.deadlineAt.getTime();
      const remaining = deadlineAt - this.clock.now().getTime();
      // the runner tells a deadline from a shutdown or a lost lease by the reason
      if (remaining <= 0) controller.abort('deadline' satisfies AbortReason);
      else
        entry.disarmDeadline = this.deadlines.watch(deadlineAt, remaining, () =>
          controller.abort('deadline' satisfies AbortReason),
        );
    }
    this.inFlight.set(execution.id, entry);
    entry.done = (
      workflow
        ? this.runOne(execution, workflow, completed, controller.signal, () =>
            this.callsDone(execution.id),
          )
        : this.failMissingWorkflow(execution)
    )
      .catch((err: Error) => {
        this.logger.error({
          msg: 'execution crashed',
          executionId: execution.id,
          error: err.stack ?? err.message,
        });
        return false;
      })
      .then((ended) => {
        entry.disarmDeadline();
        this.inFlight.delete(execution.id);
        this.finishing.delete(execution.id);
        this.askCompleter(execution.parentExecutionId, ended);
        this.startReady();
        this.wake();
      });
  }

  /**
   * A tenant of the run left this instance (`ended`: with its final state written): the
   * completer checks the run when this instance holds no other tenant of it, since until
   * then the check would find that tenant open. A run whose tenant ended meanwhile is
   * owed a check and gets it then, whatever the last one's outcome; a tenant another
   * instance holds asks its own completer when it ends.
   */
  private askCompleter(parentId: string | null, ended: boolean): void {
    if (!parentId || (!ended && !this.owed.has(parentId))) return;
    if (this.holdsTenantOf(parentId)) {
      this.owed.add(parentId);
      return;
    }
    this.owed.delete(parentId);
    this.completer.request([parentId]);
  }

  private holdsTenantOf(parentId: string): boolean {
    for (const e of this.inFlight.values())
      if (e.execution.parentExecutionId === parentId) return true;
    for (const e of this.finishing.values())
      if (e.execution.parentExecutionId === parentId) return true;
    return this.ready.some((r) => r.execution.parentExecutionId === parentId);
  }

  /** Its calls are done: its slot goes to the next tenant while its rows commit. */
  private callsDone(id: string): void {
    const entry = this.inFlight.get(id);
    if (!entry) return;
    // the deadline bounds the work; once the calls are done, writing what they did is not
    // cut short by it (it would record a finished tenant as cancelled)
    if (!entry.controller.signal.aborted) entry.disarmDeadline();
    this.inFlight.delete(id);
    this.finishing.set(id, entry);
    this.startReady();
    this.wake();
  }

  private async runOne(
    execution: ExecutionEntity,
    workflow: WorkflowEntity,
    completed: Map<string, unknown>,
    signal: AbortSignal,
    callsDone: () => void,
  ): Promise<boolean> {
    const outcome = await this.runner.run({
      execution,
      workflow,
      completed,
      signal,
      owner: this.owner,
      stepConcurrency: this.stepConcurrency,
      callsDone,
    });
    if (!outcome) return false; // handed back: shutdown or lost lease
    const applied = await this.writer.write({ steps: outcome.stepRows, finals: [outcome.final] });
    // ended: written, and not waiting for another attempt
    return applied.has(execution.id) && outcome.final.status !== 'pending';
  }

  private async failMissingWorkflow(execution: ExecutionEntity): Promise<boolean> {
    const now = this.clock.now();
    await this.writer.write({
      finals: [
        {
          id: execution.id,
          owner: this.owner,
          status: 'failed',
          completedAt: now,
          durationSeconds: 0,
          stepsCompleted: 0,
          stepsFailed: 0,
          errorMessage: `workflow ${execution.workflowId} no longer exists`,
          resultSummary: null,
          attempt: execution.attempt,
          nextAttemptAt: null,
        },
      ],
    });
    return true;
  }

  private async renewLeases(): Promise<void> {
    const ids = [
      ...this.inFlight.keys(),
      ...this.finishing.keys(),
      ...this.ready.map((r) => r.execution.id),
    ];
    if (ids.length === 0) return;
    try {
      const kept = await this.repository.renewLeases(this.owner, ids, this.leaseMs);
      // only what was renewed and lost leaves the buffer, not what was claimed meanwhile
      const lost = new Set(ids.filter((id) => !kept.has(id)));
      // in place: a claim being prepared meanwhile pushes into this same array (replacing
      // it lost that claim's tenants until their lease expired, 60 s, and another claim
      // ran them)
      for (let i = this.ready.length - 1; i >= 0; i--)
        if (lost.has(this.ready[i].execution.id)) this.ready.splice(i, 1);
      for (const id of ids) {
        const entry = this.inFlight.get(id) ?? this.finishing.get(id);
        if (entry && !kept.has(id) && !entry.controller.signal.aborted) {
          this.logger.warn({
            msg: 'lease lost; abandoning the execution to its new owner',
            executionId: id,
          });
          entry.controller.abort('lease-lost' satisfies AbortReason);
        }
      }
    } catch (err) {
      this.logger.warn({ msg: 'lease renewal failed', error: (err as Error).message });
    }
  }

  private async sweep(): Promise<void> {
    try {
      const parents = await this.repository.cancelOverdue(this.clock.now());
      if (parents.length > 0) this.completer.request(parents);
      // staged tenants no one inserts (an insert failed, or the instance doing it died)
      if (await this.repository.hasStaged()) await this.expander.expand();
    } catch (err) {
      this.logger.warn({ msg: 'overdue sweep failed', error: (err as Error).message });
    }
  }

  /** Stop claiming, abort what runs, hand it back, and wait for the writers. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    this.jobs.remove(LEASE_RENEW_JOB);
    this.jobs.remove(SWEEP_JOB);
    await this.expander.stop();
    await this.loop;
    this.loop = null;
    // what still calls stops and is handed back; what is finishing writes its outcome
    const calling = [...this.inFlight.values()];
    const entries = [...calling, ...this.finishing.values()];
    for (const e of calling) e.controller.abort('shutdown' satisfies AbortReason);
    await Promise.all(entries.map((e) => e.done));
    const waiting = this.ready.splice(0).map((r) => r.execution.id);
    await this.repository
      .release(this.owner, [...entries.map((e) => e.execution.id), ...waiting])
      .catch((err: Error) =>
        this.logger.warn({ msg: 'could not hand back work', error: err.message }),
      );
    await this.completer.flush();
    await this.completer.listenersSettled();
  }

  /** Before the database closes (onApplicationShutdown of the TypeORM module). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }
}
