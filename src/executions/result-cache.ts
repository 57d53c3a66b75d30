import { Injectable, Logger } from '@nestjs/common';
import { RedisConnection } from 'src/common/redis/redis.module';

const TTL_SECONDS = 7 * 86400;

/**
 * The latest result per (workflow, tenant) in Redis, for dashboards that should not
 * query the history table. Best effort: the database stays the record; a Redis outage
 * only leaves the cache stale. Nothing is cached without REDIS_URL.
 */
@Injectable()
export class ResultCache {
  private readonly logger = new Logger(ResultCache.name);
  private warned = false;

  constructor(private readonly redis: RedisConnection) {}

  static key(workflowName: string, tenantId: string): string {
    return `orchestrator:result:${workflowName}:${tenantId}`;
  }

  async put(workflowName: string, tenantId: string, value: Record<string, unknown>): Promise<void> {
    const client = this.redis.client;
    if (!client || client.status !== 'ready') return;
    try {
      await client.set(
        ResultCache.key(workflowName, tenantId),
        JSON.stringify(value),
        'EX',
        TTL_SECONDS,
      );
      this.warned = false;
    } catch (err) {
      if (!this.warned)
        this.logger.warn(`result cache write failed (cache left stale): ${(err as Error).message}`);
      this.warned = true;
    }
  }

  async get(workflowName: string, tenantId: string): Promise<Record<string, unknown> | null> {
    const client = this.redis.client;
    if (!client) return null;
    const raw = await client.get(ResultCache.key(workflowName, tenantId));
    return raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
  }
}
