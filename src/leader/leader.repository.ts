import { Injectable } from '@nestjs/common';
import { ControlDatabase } from 'src/database/control-database';

/** The singleton row of orchestrator_leader as the rest of the module sees it. */
export interface LeaderRecord {
  instanceId: string;
  hostname: string | null;
  /** BIGINT, kept as a decimal string as pg returns it */
  term: string;
  becameLeaderAt: Date;
  lastHeartbeatAt: Date;
  heartbeatIntervalSeconds: number | null;
}

export interface TermClaim {
  instanceId: string;
  hostname: string;
  heartbeatIntervalSeconds: number;
  now: Date;
  /** Claim only if the recorded leader's last heartbeat is older than this (single-instance takeover). */
  onlyIfHeartbeatBefore?: Date;
}

/**
 * Owns orchestrator_leader: one row (id = 1) holding the current leader and its fencing
 * term. It goes through the control connection, not the work pool: a pool full of
 * statements waiting on a locked table must not stop the heartbeat (the leader would
 * step down) nor `GET /leader`.
 */
@Injectable()
export class LeaderRepository {
  constructor(private readonly control: ControlDatabase) {}

  /**
   * Takes the next fencing term in one statement, so two instances racing here always get
   * different terms and the row always names whoever incremented last. Returns null when
   * `onlyIfHeartbeatBefore` was given and the recorded leader is still alive.
   */
  async claimTerm(claim: TermClaim): Promise<string | null> {
    const params: unknown[] = [
      claim.instanceId,
      claim.hostname,
      claim.now,
      claim.heartbeatIntervalSeconds,
    ];
    let condition = '';
    if (claim.onlyIfHeartbeatBefore) {
      params.push(claim.onlyIfHeartbeatBefore);
      condition = 'WHERE l.last_heartbeat_at < $5';
    }
    const { rows } = await this.run(
      `INSERT INTO orchestrator_leader AS l
         (id, instance_id, instance_hostname, became_leader_at, last_heartbeat_at,
          heartbeat_interval_seconds, term)
       VALUES (1, $1, $2, $3, $3, $4, 1)
       ON CONFLICT (id) DO UPDATE SET
         instance_id = EXCLUDED.instance_id,
         instance_hostname = EXCLUDED.instance_hostname,
         became_leader_at = EXCLUDED.became_leader_at,
         last_heartbeat_at = EXCLUDED.last_heartbeat_at,
         heartbeat_interval_seconds = EXCLUDED.heartbeat_interval_seconds,
         term = l.term + 1
       ${condition}
       RETURNING term::text AS term`,
      params,
    );
    return rows.length > 0 ? (rows[0] as { term: string }).term : null;
  }

  /**
   * Records a heartbeat only while the row still carries our term. False means a newer
   * term was taken: someone else leads and we must stop at once.
   */
  async recordHeartbeat(instanceId: string, term: string, now: Date): Promise<boolean> {
    const { affected } = await this.run(
      `UPDATE orchestrator_leader SET last_heartbeat_at = $3
        WHERE id = 1 AND instance_id = $1 AND term = CAST($2 AS BIGINT)`,
      [instanceId, term, now],
    );
    return affected === 1;
  }

  async findCurrent(): Promise<LeaderRecord | null> {
    const { rows } = await this.run(
      `SELECT instance_id, instance_hostname, term::text AS term, became_leader_at,
              last_heartbeat_at, heartbeat_interval_seconds
         FROM orchestrator_leader WHERE id = 1`,
      [],
    );
    if (rows.length === 0) return null;
    const row = rows[0] as Record<string, any>;
    return {
      instanceId: row.instance_id,
      hostname: row.instance_hostname ?? null,
      term: row.term,
      becameLeaderAt: new Date(row.became_leader_at),
      lastHeartbeatAt: new Date(row.last_heartbeat_at),
      heartbeatIntervalSeconds: row.heartbeat_interval_seconds ?? null,
    };
  }

  private run(sql: string, params: unknown[]): Promise<{ rows: unknown[]; affected: number }> {
    return this.control.query(sql, params);
  }
}
