import { Logger } from '@nestjs/common';
import { ExecutionError, Lock, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock';
import Redis, { RedisOptions } from 'ioredis';
import { AcquireOutcome, ExtendOutcome, LeaderLock } from './leader-lock';

export interface RedlockLeaderLockOptions {
  url: string;
  key: string;
  /** Longest a single Redis command may take; kept well below the lock's validity. */
  commandTimeoutMs: number;
}

/** The database index in a redis:// URL (`redis://host:6379/2` -> 2), which Redlock's scripts SELECT. */
export function redisDbFromUrl(url: string): number {
  const db = Number(new URL(url).pathname.replace(/^\//, '') || '0');
  return Number.isInteger(db) && db >= 0 && db <= 15 ? db : 0;
}

/**
 * Redlock on one Redis node with two dedicated connections: one for lock commands (never
 * shared with the cache, so a slow cache call cannot delay a renewal) and one subscribed
 * to a release channel, so followers try at once when the leader lets go on shutdown
 * instead of waiting for their next heartbeat.
 */
export class RedlockLeaderLock extends LeaderLock {
  private readonly logger = new Logger(RedlockLeaderLock.name);
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly redlock: Redlock;
  private readonly channel: string;
  private readonly listeners: Array<() => void> = [];
  private lock: Lock | null = null;
  private lastError: string | null = null;
  private inOutage = false;

  constructor(private readonly options: RedlockLeaderLockOptions) {
    super();
    const common: RedisOptions = {
      connectTimeout: Math.max(1000, options.commandTimeoutMs),
      // reconnect quickly: a follower should be able to lead again soon after Redis returns
      retryStrategy: (times) => Math.min(100 * times, 1000),
    };
    this.client = new Redis(options.url, {
      ...common,
      connectionName: 'orchestrator-leader',
      // fail at once when disconnected: a queued renewal would run after the lock expired
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs,
    });
    this.subscriber = new Redis(options.url, {
      ...common,
      connectionName: 'orchestrator-leader-events',
      // the subscription is renewed by ioredis on every reconnect; a SUBSCRIBE that gets
      // no answer is reported (below) rather than left waiting
      maxRetriesPerRequest: 1,
      commandTimeout: Math.max(1000, options.commandTimeoutMs),
    });
    // retries are the election loop's job (one attempt per heartbeat), not Redlock's
    this.redlock = new Redlock([this.client], {
      retryCount: 0,
      db: redisDbFromUrl(options.url),
    });
    this.channel = `${options.key}:released`;

    this.client.on('error', (err: Error) => {
      this.lastError = err.message;
      if (!this.inOutage) {
        this.inOutage = true;
        this.logger.warn({ msg: 'leader lock connection lost', error: err.message });
      }
    });
    this.client.on('ready', () => {
      if (this.inOutage) this.logger.log({ msg: 'leader lock connection restored' });
      this.inOutage = false;
      this.lastError = null;
      this.emitWake();
    });
    this.subscriber.on('error', () => undefined); // reported once through the command connection
    this.subscriber.on('message', (channel: string) => {
      if (channel === this.channel) this.emitWake();
    });
    this.subscriber.subscribe(this.channel).catch((err: Error) => {
      this.logger.warn({ msg: 'leader release channel unavailable', error: err.message });
    });
  }

  isAvailable(): boolean {
    return this.client.status === 'ready';
  }

  describeUnavailability(): string {
    // no connection state in the text: it cycles during an outage and would re-log each time
    return this.lastError
      ? `redis unreachable: ${this.lastError}`
      : `redis connection not ready yet (${this.client.status})`;
  }

  async acquire(ttlMs: number): Promise<AcquireOutcome> {
    try {
      this.lock = await this.redlock.acquire([this.options.key], ttlMs);
      return 'acquired';
    } catch (err) {
      if ((await this.classify(err)) === 'locked') return 'held-elsewhere';
      throw await this.underlying(err);
    }
  }

  async extend(ttlMs: number): Promise<ExtendOutcome> {
    const current = this.lock;
    if (!current) return 'lost';
    try {
      this.lock = await current.extend(ttlMs);
      return 'extended';
    } catch (err) {
      if ((await this.classify(err)) === 'locked') {
        this.lock = null;
        return 'lost';
      }
      throw await this.underlying(err);
    }
  }

  async release(): Promise<void> {
    const current = this.lock;
    this.lock = null;
    if (!current) return;
    try {
      await this.redlock.release(current);
    } catch (err) {
      // "not ours any more" means there is nothing to give up
      if ((await this.classify(err)) !== 'locked') throw await this.underlying(err);
      return;
    }
    await this.client.publish(this.channel, 'released');
  }

  onWake(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.lock = null;
    this.listeners.length = 0;
    // disconnect, not quit: quit waits for an answer that never comes when Redis is down
    this.client.disconnect();
    this.subscriber.disconnect();
  }

  private emitWake(): void {
    for (const listener of this.listeners) listener();
  }

  /** Redlock reports contention and outages with the same ExecutionError; the votes tell them apart. */
  private async classify(err: unknown): Promise<'locked' | 'failed'> {
    if (!(err instanceof ExecutionError)) return 'failed';
    // no attempt at all: Redlock refused locally because the lock had already expired
    if (err.attempts.length === 0) return 'locked';
    const stats = await err.attempts[err.attempts.length - 1];
    const errors = [...stats.votesAgainst.values()];
    return errors.length > 0 && errors.every((e) => e instanceof ResourceLockedError)
      ? 'locked'
      : 'failed';
  }

  private async underlying(err: unknown): Promise<Error> {
    if (err instanceof ExecutionError && err.attempts.length > 0) {
      const stats = await err.attempts[err.attempts.length - 1];
      const cause = [...stats.votesAgainst.values()].find(
        (e) => !(e instanceof ResourceLockedError),
      );
      if (cause) return cause;
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}
