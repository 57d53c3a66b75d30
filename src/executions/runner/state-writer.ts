import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { ExecutionsRepository, FinalState, LogRow, StepRow } from '../executions.repository';

interface Pending {
  steps: StepRow[];
  logs: LogRow[];
  finals: FinalState[];
  resolve: (applied: Set<string>) => void;
  reject: (err: Error) => void;
}

const MAX_BATCH_OPS = 500;

/**
 * Group commit for execution state (PERFORMANCE-NOTES.md): runners hand their step
 * results, logs and final states here; one writer commits whatever has queued up in a
 * single transaction of multi-row statements, and each caller's promise resolves once
 * its rows are durable. While a commit is in flight the next batch gathers, so under
 * load a commit carries many steps and when idle a write waits for nobody.
 */
@Injectable()
export class StateWriter implements BeforeApplicationShutdown {
  private readonly logger = new Logger(StateWriter.name);
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private listeners: ((parentIds: Set<string>) => void)[] = [];
  /** rows written, for the benchmark and metrics */
  readonly stats = { commits: 0, steps: 0, logs: 0, finals: 0 };

  constructor(private readonly repository: ExecutionsRepository) {}

  /** Called with the executions whose final state a commit made durable. */
  onFinalsCommitted(listener: (executionIds: Set<string>) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves with the ids of `finals` that were applied (this instance still held the lease). */
  write(op: { steps?: StepRow[]; logs?: LogRow[]; finals?: FinalState[] }): Promise<Set<string>> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        steps: op.steps ?? [],
        logs: op.logs ?? [],
        finals: op.finals ?? [],
        resolve,
        reject,
      });
      if (!this.flushing) this.flushing = this.drain();
    });
  }

  private async drain(): Promise<void> {
    // let the current tick's writers join the first batch
    await new Promise((r) => setImmediate(r));
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH_OPS);
        await this.commit(batch);
      }
    } finally {
      this.flushing = null;
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    const steps = batch.flatMap((p) => p.steps);
    const logs = batch.flatMap((p) => p.logs);
    const finals = batch.flatMap((p) => p.finals);
    try {
      const applied = await this.repository.transaction(async (tx) => {
        await this.repository.upsertSteps(tx, steps);
        await this.repository.insertLogs(tx, logs);
        return this.repository.finish(tx, finals);
      });
      this.stats.commits++;
      this.stats.steps += steps.length;
      this.stats.logs += logs.length;
      this.stats.finals += applied.size;
      for (const p of batch) p.resolve(applied);
      if (applied.size > 0) for (const l of this.listeners) l(applied);
    } catch (err) {
      this.logger.error(`state commit of ${batch.length} writes failed: ${(err as Error).message}`);
      for (const p of batch) p.reject(err as Error);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.flushing;
  }
}
