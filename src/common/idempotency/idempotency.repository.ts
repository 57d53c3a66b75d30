import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { returnedRows } from 'src/common/sql/query-result';

export interface KeyScope {
  route: string;
  target: string;
  subject: string;
  key: string;
}

/** Where a statement runs: the data source, or a transaction's manager. */
export interface QueryExecutor {
  query(sql: string, parameters?: unknown[]): Promise<any>;
}

export interface StoredKey {
  requestHash: string;
  state: 'processing' | 'completed';
  responseStatus: number | null;
  responseBody: unknown;
}

/** Only this class reads or writes `orchestrator_idempotency_keys`. Times are the database's. */
@Injectable()
export class IdempotencyRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Takes the key for this request, atomically: a new key, an expired one, or one whose
   * owner stopped answering (its lock ran out) with the same body. True when taken, false
   * when another request holds or answered it.
   */
  async claim(
    scope: KeyScope,
    requestHash: string,
    lockToken: string,
    lockMs: number,
    ttlMs: number,
  ): Promise<boolean> {
    const rows = await this.dataSource.query(
      `INSERT INTO orchestrator_idempotency_keys
         (route, target, subject, idempotency_key, request_hash, state, lock_token, locked_until,
          created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, 'processing', $6, now() + make_interval(secs => $7::float8 / 1000),
               now(), now() + make_interval(secs => $8::float8 / 1000))
       ON CONFLICT (route, target, subject, idempotency_key) DO UPDATE
          SET request_hash = EXCLUDED.request_hash, state = 'processing',
              lock_token = EXCLUDED.lock_token, locked_until = EXCLUDED.locked_until,
              response_status = NULL, response_body = NULL, completed_at = NULL,
              created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
        WHERE orchestrator_idempotency_keys.expires_at <= now()
           OR (orchestrator_idempotency_keys.state = 'processing'
               AND orchestrator_idempotency_keys.locked_until <= now()
               AND orchestrator_idempotency_keys.request_hash = EXCLUDED.request_hash)
       RETURNING id`,
      [scope.route, scope.target, scope.subject, scope.key, requestHash, lockToken, lockMs, ttlMs],
    );
    return returnedRows(rows).length === 1;
  }

  /** The key as stored, unless it expired (an expired key is as good as absent). */
  async find(scope: KeyScope): Promise<StoredKey | null> {
    const rows: Record<string, any>[] = await this.dataSource.query(
      `SELECT request_hash, state, response_status, response_body
         FROM orchestrator_idempotency_keys
        WHERE route = $1 AND target = $2 AND subject = $3 AND idempotency_key = $4
          AND expires_at > now()`,
      [scope.route, scope.target, scope.subject, scope.key],
    );
    const r = rows[0];
    return r
      ? {
          requestHash: r.request_hash,
          state: r.state,
          responseStatus: r.response_status,
          responseBody: r.response_body,
        }
      : null;
  }

  /**
   * Stores the answer; false when this request no longer holds the key (its lock ran out).
   * `within`: the command's own transaction, so the answer commits with what it did.
   */
  async complete(
    scope: KeyScope,
    lockToken: string,
    status: number,
    body: unknown,
    within?: QueryExecutor,
  ): Promise<boolean> {
    const rows = await (within ?? this.dataSource).query(
      `UPDATE orchestrator_idempotency_keys
          SET state = 'completed', response_status = $6, response_body = $7::json, completed_at = now()
        WHERE route = $1 AND target = $2 AND subject = $3 AND idempotency_key = $4 AND lock_token = $5
        RETURNING id`,
      [
        scope.route,
        scope.target,
        scope.subject,
        scope.key,
        lockToken,
        status,
        JSON.stringify(body ?? null),
      ],
    );
    return returnedRows(rows).length === 1;
  }

  /**
   * Gives the key back after an error, so the same key may be sent again; not once an
   * answer is stored (committed with the command's work, which an error after the commit
   * does not undo).
   */
  async release(scope: KeyScope, lockToken: string): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM orchestrator_idempotency_keys
        WHERE route = $1 AND target = $2 AND subject = $3 AND idempotency_key = $4 AND lock_token = $5
          AND state = 'processing'`,
      [scope.route, scope.target, scope.subject, scope.key, lockToken],
    );
  }

  /** Deletes at most `limit` expired keys; returns how many. */
  async deleteExpired(limit: number): Promise<number> {
    const rows = await this.dataSource.query(
      `DELETE FROM orchestrator_idempotency_keys
        WHERE id IN (SELECT id FROM orchestrator_idempotency_keys
                      WHERE expires_at <= now() ORDER BY expires_at LIMIT $1)
        RETURNING id`,
      [limit],
    );
    return returnedRows(rows).length;
  }
}
