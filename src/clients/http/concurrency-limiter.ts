/**
 * A FIFO semaphore: at most `limit` holders, the rest wait in arrival order. Used as the
 * per-service bulkhead instead of cockatiel's BulkheadPolicy because a waiter must leave
 * the queue the moment its caller gives up (AbortSignal or deadline); cockatiel keeps an
 * aborted waiter queued until its turn comes, so its caller would hang that long.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiters: Array<Waiter | null> = [];
  private head = 0;
  private queued = 0;
  maxActive = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new Error(`concurrency limit must be at least 1, got ${limit}`);
  }

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queued;
  }

  /**
   * Resolves when a slot is held; the caller must call release() once. Rejects with
   * `onGiveUp()`'s error if the signal aborts or `timeoutMs` passes while waiting.
   */
  acquire(
    signal: AbortSignal | undefined,
    timeoutMs: number,
    onGiveUp: (why: 'aborted' | 'timeout') => Error,
  ): Promise<void> {
    if (this.active < this.limit && this.queued === 0) {
      this.take();
      return Promise.resolve();
    }
    if (signal?.aborted) return Promise.reject(onGiveUp('aborted'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          cleanup();
          this.take();
          resolve();
        },
        cancelled: false,
      };
      const giveUp = (why: 'aborted' | 'timeout') => {
        if (waiter.cancelled) return;
        waiter.cancelled = true;
        this.queued--;
        cleanup();
        reject(onGiveUp(why));
      };
      const onAbort = () => giveUp('aborted');
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => giveUp('timeout'), Math.max(0, timeoutMs))
        : undefined;
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.queued++;
    });
  }

  release(): void {
    this.active--;
    while (this.head < this.waiters.length) {
      const next = this.waiters[this.head];
      this.waiters[this.head++] = null;
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        // compact now and then instead of shift(), which is O(n) per call
        this.waiters.splice(0, this.head);
        this.head = 0;
      }
      if (next && !next.cancelled) {
        next.cancelled = true;
        this.queued--;
        next.resolve();
        return;
      }
    }
  }

  private take(): void {
    this.active++;
    if (this.active > this.maxActive) this.maxActive = this.active;
  }
}

interface Waiter {
  resolve: () => void;
  cancelled: boolean;
}
