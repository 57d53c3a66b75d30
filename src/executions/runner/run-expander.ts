import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config.service';
import { ExecutionsRepository } from '../executions.repository';
import { RunCompleter } from './run-completer';

/**
 * Inserts the staged tenants of new runs (orchestrator_run_staging), a batch of
 * `RUN_CREATE_BATCH_SIZE` per transaction, after the run's own transaction committed its
 * first batch. A run of 10,000 tenants so starts once 1,000 rows are written instead of
 * 10,000, and the rest are written while its first tenants run. Each batch keeps the claim
 * order (the staged list is in it, and follows the first batch), so tier order holds.
 *
 * Any instance may do it: a staging row is locked by the transaction that inserts its next
 * batch (SKIP LOCKED, so instances share a run's batches), the slot key makes a repeat a
 * no-op, and one left by a crash is picked up by the dispatcher's start or its sweep.
 */
@Injectable()
export class RunExpander {
  private readonly logger = new Logger(RunExpander.name);
  readonly batchSize: number;
  private loop: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly repository: ExecutionsRepository,
    private readonly completer: RunCompleter,
    config: AppConfig,
  ) {
    this.batchSize = config.get('RUN_CREATE_BATCH_SIZE');
  }

  /** Hears of each batch inserted (the dispatcher: there is new work to claim). */
  onBatch(listener: () => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.stopping = false;
  }

  /**
   * Inserts batches until no staged run is free (done, or another instance holds it); one
   * loop per process, a call during it makes it look once more at the end. Never rejects:
   * a failure is logged and left for the sweep.
   */
  expand(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.loop) {
      this.again = true;
      return this.loop;
    }
    this.loop = this.expandAll().finally(() => (this.loop = null));
    return this.loop;
  }

  private async expandAll(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopping) {
          const batch = await this.repository.transaction((tx) =>
            this.repository.expandStaged(tx, this.batchSize),
          );
          if (!batch) break;
          if (batch.inserted > 0) for (const listener of this.listeners) listener();
          if (batch.left === 0) {
            // the run can now close once its tenants are done; if they all were already,
            // nothing else would ask
            this.completer.request([batch.parentId]);
            await this.refreshStatistics();
          }
        }
      } while (this.again && !this.stopping);
    } catch (err) {
      this.logger.warn({
        msg: 'inserting the staged tenants of a run failed; the sweep tries again',
        error: (err as Error).message,
      });
    }
  }

  /** The claim query's plan depends on them (ExecutionsRepository.refreshStatistics). */
  private async refreshStatistics(): Promise<void> {
    await this.repository.refreshStatistics().catch((err: Error) =>
      this.logger.warn({
        msg: 'could not refresh the statistics of the executions table; autovacuum will',
        error: err.message,
      }),
    );
  }

  /** Stops after the batch being written; what is left stays staged for the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }
}
