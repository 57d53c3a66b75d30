import { deadline } from 'src/common/time/deadline';

interface Watched {
  signal: AbortSignal;
  onAbort: () => void;
  waiting: Set<() => void>;
}

/**
 * The run deadlines this instance's tenants wait on: one timer per deadline instant, shared
 * by the tenants of a run that are here at the same time (they all carry their run's
 * `deadline_at`). A timer of its own per tenant (`AbortSignal.timeout`) made 10,000 signals
 * and weak timers per 10,000 tenants, a tenth of a second of the main thread in the fan-out
 * profile (bench/fanout). When the last tenant waiting on an instant leaves, its timer is
 * let go, as a tenant's own would have been.
 */
export class RunDeadlines {
  private readonly byInstant = new Map<number, Watched>();

  /**
   * Calls `onExpiry` once the instant `at` (epoch ms) is reached, `remainingMs` from now
   * when no tenant waits on it yet; returns the function that stops waiting.
   */
  watch(at: number, remainingMs: number, onExpiry: () => void): () => void {
    let watched = this.byInstant.get(at);
    if (!watched) {
      const signal = deadline(remainingMs);
      const waiting = new Set<() => void>();
      const onAbort = () => {
        this.byInstant.delete(at);
        for (const fire of waiting) fire();
        waiting.clear();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      watched = { signal, onAbort, waiting };
      this.byInstant.set(at, watched);
    }
    const own = watched;
    own.waiting.add(onExpiry);
    return () => {
      if (!own.waiting.delete(onExpiry) || own.waiting.size > 0) return;
      own.signal.removeEventListener('abort', own.onAbort);
      if (this.byInstant.get(at) === own) this.byInstant.delete(at);
    };
  }

  /** Deadline instants some tenant here is waiting on (one timer each). */
  get size(): number {
    return this.byInstant.size;
  }
}
