import { AppConfig } from 'src/config/app-config.service';
import { InstanceIdentity } from 'src/config/instance-identity';

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
    /** InstanceIdentity.id: the same id the executions, the alerts and the log lines carry */
    readonly instanceId: string,
  ) {}

  static fromConfig(config: AppConfig, identity: InstanceIdentity): LeaderSettings {
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
      identity.hostname,
      identity.id,
    );
  }
}
