import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { AppConfig } from 'src/config/app-config.service';

export type LeaderMode = 'election' | 'single-instance';

/** Everything the election needs from the configuration, resolved once at start. */
export class LeaderSettings {
  constructor(
    readonly mode: LeaderMode,
    /** Why single-instance mode applies (null in election mode), stated in the log and GET /leader. */
    readonly singleInstanceReason: string | null,
    readonly redisUrl: string | null,
    readonly lockKey: string,
    readonly ttlSeconds: number,
    readonly heartbeatSeconds: number,
    readonly hostname: string,
    /** hostname + random suffix, as the specification has it: unique even for two pods on one host */
    readonly instanceId: string,
  ) {}

  static fromConfig(config: AppConfig, host: string = osHostname()): LeaderSettings {
    const redisUrl = config.get('REDIS_URL') ?? null;
    const enabled = config.get('ENABLE_LEADER_ELECTION');
    const singleInstanceReason = !enabled
      ? 'ENABLE_LEADER_ELECTION=false'
      : redisUrl === null
        ? 'REDIS_URL is not set'
        : null;
    return new LeaderSettings(
      singleInstanceReason === null ? 'election' : 'single-instance',
      singleInstanceReason,
      redisUrl,
      config.get('LEADER_LOCK_KEY'),
      config.get('LEADER_LOCK_TTL_SECONDS'),
      config.get('LEADER_HEARTBEAT_SECONDS'),
      host,
      `${host}_${randomBytes(4).toString('hex')}`,
    );
  }
}
