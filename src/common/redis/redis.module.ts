import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { withTimeout } from 'src/common/time/deadline';

/**
 * What the connection needs from the environment. The config module provides it (from
 * REDIS_URL, REDIS_COMMAND_TIMEOUT_MS, REDIS_CONNECT_TIMEOUT_MS), so common code does not
 * import config.
 */
export abstract class RedisSettings {
  /** undefined: no Redis, the connection is null */
  abstract readonly url: string | undefined;
  abstract readonly commandTimeoutMs: number;
  abstract readonly connectTimeoutMs: number;
}

/** Readiness answers within 2 s whatever hangs: the ping gets 1.5 s. */
const PING_TIMEOUT_MS = 1500;

/**
 * The one shared Redis connection (null when REDIS_URL is unset), used by the readiness
 * PING. Leader election makes its own connections, so a slow readiness call can never delay
 * a lock renewal.
 *
 * Every command has a deadline (REDIS_COMMAND_TIMEOUT_MS): a Redis that accepts the
 * connection and then stops answering (a partition, a full server) would otherwise keep
 * a command waiting for as long as the socket lives. Nothing is queued while
 * disconnected and a command is retried at most once after a reconnect, so a caller
 * hears about an outage at once instead of after it.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisConnection.name);
  readonly client: Redis | null;

  constructor(@Inject(RedisSettings) settings: RedisSettings) {
    this.client = settings.url
      ? new Redis(settings.url, {
          connectionName: 'orchestrator',
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          lazyConnect: false,
          commandTimeout: settings.commandTimeoutMs,
          connectTimeout: settings.connectTimeoutMs,
        })
      : null;
    this.client?.on('error', (err: Error) =>
      this.logger.warn({ msg: 'redis connection error', error: err.message }),
    );
  }

  async ping(): Promise<{ ok: boolean; reason?: string }> {
    if (!this.client) return { ok: true };
    try {
      await withTimeout(this.client.ping(), PING_TIMEOUT_MS, 'redis PING');
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: `redis unreachable: ${(err as Error).message}` };
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.client?.disconnect();
  }
}

@Global()
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class RedisModule {}
