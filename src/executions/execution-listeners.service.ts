import { Injectable } from '@nestjs/common';
import { ClosedRun, RunClosedListener, RunCompleter } from './runner/run-completer';
import { FinishedStep, TenantRunner } from './runner/tenant-runner';

/**
 * What other modules may hear from the engine (metrics, alerts, cost tracking), without
 * reaching into its runners. Listeners run after the state they describe is committed.
 */
@Injectable()
export class ExecutionListenersService {
  constructor(
    private readonly completer: RunCompleter,
    private readonly runner: TenantRunner,
  ) {}

  /**
   * Called with each run after its final status is committed (metrics, alerts). A listener
   * that starts work returns its promise: a shutdown waits for it before the database
   * closes.
   */
  onRunClosed(listener: RunClosedListener): void {
    this.completer.onRunClosed(listener);
  }

  /** Called after each step attempt's outcome is written (step metrics, cost tracking). */
  onStepFinished(listener: (step: FinishedStep) => void): void {
    this.runner.onStepFinished(listener);
  }
}

export type { ClosedRun, FinishedStep, RunClosedListener };
