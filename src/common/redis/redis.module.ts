import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from 'src/config/app-config.service';

/**
 * The one shared Redis connection (null when REDIS_URL is unset). Leader election makes
 * its own connection so a slow cache call can never delay a lock renewal.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisConnection.name);
  readonly client: Redis | null;

  constructor(@Inject(AppConfig) config: AppConfig) {
    const url = config.get('REDIS_URL');
    this.client = url
      ? new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false })
      : null;
    this.client?.on('error', (err: Error) => this.logger.warn(`redis: ${err.message}`));
  }

  async ping(): Promise<{ ok: boolean; reason?: string }> {
    if (!this.client) return { ok: true };
    try {
      await this.client.ping();
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
