import { Injectable } from '@nestjs/common';

/**
 * In-process wake-up for the relay. Enqueues (once their transaction committed) and
 * broker reconnects ring it, so an event leaves within milliseconds instead of waiting
 * out the poll interval. A ring while nobody waits is remembered once, so an enqueue
 * that commits while a batch is in flight is not missed.
 */
@Injectable()
export class OutboxSignal {
  private pending = false;
  private readonly waiters = new Set<() => void>();

  notify(): void {
    if (this.waiters.size === 0) {
      this.pending = true;
      return;
    }
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves true on a ring (or one that came since the last wait), false after ms. */
  wait(ms: number): Promise<boolean> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const finish = (rung: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(rung);
      };
      const wake = () => finish(true);
      const timer = setTimeout(() => finish(false), ms);
      this.waiters.add(wake);
    });
  }
}
