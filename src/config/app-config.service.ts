import { Injectable } from '@nestjs/common';
import { Env, EnvName } from './env.schema';

/** The validated configuration, read once at start. The only reader of process.env is main/cli. */
@Injectable()
export class AppConfig {
  constructor(private readonly env: Env) {}

  get<K extends EnvName>(name: K): Env[K] {
    return this.env[name];
  }

  get usesEmbeddedDatabase(): boolean {
    return this.env.DATABASE_URL === undefined;
  }

  /** Redlock runs only with Redis and when enabled; otherwise this instance is the leader. */
  get isLeaderElectionActive(): boolean {
    return this.env.ENABLE_LEADER_ELECTION && this.env.REDIS_URL !== undefined;
  }
}
