/** What a lock attempt found: we hold it now, or another instance does. */
export type AcquireOutcome = 'acquired' | 'held-elsewhere';
/** What a renewal found: still ours for another TTL, or no longer ours. */
export type ExtendOutcome = 'extended' | 'lost';

/**
 * The distributed lock behind leader election (Redlock over Redis in production, a fake
 * in unit tests). It only answers "is it mine"; how long we may act on it is decided by
 * LeaderElectionService with the injected clock. Redis failures are thrown, never
 * reported as "held elsewhere", so the caller can tell contention from an outage.
 */
export abstract class LeaderLock {
  /** True when the connection can take a command right now (no point trying otherwise). */
  abstract isAvailable(): boolean;
  /** Why the lock backend is unavailable, for logs and readiness. */
  abstract describeUnavailability(): string;
  abstract acquire(ttlMs: number): Promise<AcquireOutcome>;
  abstract extend(ttlMs: number): Promise<ExtendOutcome>;
  /** Gives the lock up (no-op when not held) and tells waiting instances to try now. */
  abstract release(): Promise<void>;
  /** Called when trying again now is worthwhile: the lock was released, or Redis came back. */
  abstract onWake(listener: () => void): void;
  abstract close(): Promise<void>;
}
