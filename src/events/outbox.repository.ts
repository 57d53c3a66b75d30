import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import { Transaction } from 'src/database/transaction';

export interface NewOutboxRow {
  id: string;
  exchange: string;
  routingKey: string;
  /** the payload, already serialized (and so known to be valid JSON) */
  payloadJson: string;
}

export interface ClaimedOutboxRow {
  id: string;
  exchange: string;
  routingKey: string;
  payload: Record<string, unknown>;
  /** failed publish attempts so far */
  attempts: number;
  createdAt: Date;
}

export interface OutboxFailure {
  id: string;
  delayMs: number;
  error: string;
}

export interface OutboxBacklog {
  /** rows not yet confirmed by the broker */
  unsent: number;
  /** age of the oldest of them in seconds; 0 when there is none */
  oldestAgeSeconds: number;
}

export interface OutboxUnroutable {
  exchange: string;
  /** unsent rows whose last attempt came back with no queue bound */
  count: number;
  /** distinct routing keys among them, at most UNROUTABLE_KEYS_LISTED, most frequent first */
  routingKeys: string[];
  /** the oldest of them: when it was written and how long ago (database clock), its key */
  oldestCreatedAt: Date;
  oldestAgeSeconds: number;
  oldestRoutingKey: string;
}

const UNROUTABLE_KEYS_LISTED = 10;

// 4 parameters a row; PostgreSQL allows 65535 parameters a statement
const INSERT_CHUNK = 1000;
const MAX_ERROR_LENGTH = 1000;

/**
 * The only code that reads or writes orchestrator_outbox. Every time comparison uses the
 * database's now(), so replicas with skewed clocks agree on what is due. Statements that
 * change rows are wrapped as `WITH ... SELECT` so PostgreSQL (pg) and PGlite return rows
 * the same way.
 */
@Injectable()
export class OutboxRepository {
  private readonly afterCommitCallbacks = new WeakMap<QueryRunner, (() => void)[]>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    // TypeORM's transaction events are the only hook that fires after COMMIT; a
    // subscriber without entity methods sees nothing else
    const subscriber: EntitySubscriberInterface = {
      afterTransactionCommit: ({ queryRunner }) => this.settle(queryRunner, true),
      afterTransactionRollback: ({ queryRunner }) => this.settle(queryRunner, false),
    };
    dataSource.subscribers.push(subscriber);
  }

  /** One multi-row INSERT (per 1000 rows) through the caller's transaction. */
  async insert(tx: Transaction, rows: NewOutboxRow[]): Promise<void> {
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const chunk = rows.slice(start, start + INSERT_CHUNK);
      const params: unknown[] = [];
      const values = chunk.map((row) => {
        params.push(row.id, row.exchange, row.routingKey, row.payloadJson);
        const n = params.length;
        return `($${n - 3}::uuid, $${n - 2}, $${n - 1}, $${n}::jsonb)`;
      });
      await tx.query(
        `INSERT INTO orchestrator_outbox (id, exchange, routing_key, payload) VALUES ${values.join(', ')}`,
        params,
      );
    }
  }

  /**
   * Runs fn once tx has committed (at once if tx is not inside a transaction); never if
   * it rolls back. Savepoint releases are not commits: only the outermost one counts.
   */
  afterCommit(tx: Transaction, fn: () => void): void {
    const runner = tx.queryRunner;
    if (!runner || !runner.isTransactionActive) {
      fn();
      return;
    }
    const callbacks = this.afterCommitCallbacks.get(runner) ?? [];
    callbacks.push(fn);
    this.afterCommitCallbacks.set(runner, callbacks);
  }

  /**
   * Claims up to `limit` due rows, oldest first, and hides them from other relays for
   * `leaseMs` by pushing available_at forward. SKIP LOCKED lets concurrent claimers take
   * disjoint rows without waiting; the lease (not a long transaction) keeps them
   * disjoint while publishing, and a relay that dies mid-batch just lets it expire.
   */
  async claim(limit: number, leaseMs: number): Promise<ClaimedOutboxRow[]> {
    const rows: {
      id: string;
      exchange: string;
      routing_key: string;
      payload: Record<string, unknown>;
      attempts: number;
      created_at: Date;
    }[] = await this.dataSource.query(
      `WITH due AS (
         SELECT id FROM orchestrator_outbox
          WHERE sent_at IS NULL AND available_at <= now()
          ORDER BY created_at, id
          LIMIT $1
          FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE orchestrator_outbox o
            SET available_at = now() + ($2::int * interval '1 millisecond')
           FROM due
          WHERE o.id = due.id
         RETURNING o.id, o.exchange, o.routing_key, o.payload, o.attempts, o.created_at
       )
       SELECT * FROM claimed ORDER BY created_at, id`,
      [limit, leaseMs],
    );
    return rows.map((r) => ({
      id: r.id,
      exchange: r.exchange,
      routingKey: r.routing_key,
      payload: r.payload,
      attempts: r.attempts,
      createdAt: new Date(r.created_at),
    }));
  }

  /** Only rows the broker confirmed come here. Returns how many were marked. */
  async markSent(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const [{ n }] = await this.dataSource.query(
      `WITH done AS (
         UPDATE orchestrator_outbox SET sent_at = now(), status = 'sent'
          WHERE id = ANY($1::uuid[]) AND sent_at IS NULL
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM done`,
      [ids],
    );
    return n;
  }

  /** Counts the attempt, keeps the reason and makes the row due again after delayMs. */
  markFailed(failures: OutboxFailure[]): Promise<number> {
    return this.recordAttempt(failures, 'pending');
  }

  /**
   * The broker took the event but no queue was bound for its routing key (a `mandatory`
   * publish came back): not sent. Counted and retried like a failure, so it is delivered
   * once a queue is bound, but kept apart as `unroutable`.
   */
  markUnroutable(failures: OutboxFailure[]): Promise<number> {
    return this.recordAttempt(failures, 'unroutable');
  }

  private async recordAttempt(
    failures: OutboxFailure[],
    status: 'pending' | 'unroutable',
  ): Promise<number> {
    if (failures.length === 0) return 0;
    const [{ n }] = await this.dataSource.query(
      `WITH f AS (
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[]) AS t(id, delay_ms, error)
       ), failed AS (
         UPDATE orchestrator_outbox o
            SET attempts = o.attempts + 1,
                last_error = f.error,
                status = $4,
                available_at = now() + (f.delay_ms * interval '1 millisecond')
           FROM f
          WHERE o.id = f.id AND o.sent_at IS NULL
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM failed`,
      [
        failures.map((f) => f.id),
        failures.map((f) => Math.round(f.delayMs)),
        failures.map((f) => f.error.slice(0, MAX_ERROR_LENGTH)),
        status,
      ],
    );
    return n;
  }

  async backlog(): Promise<OutboxBacklog> {
    const [row] = await this.dataSource.query(
      `SELECT count(*)::int AS unsent,
              COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_age_seconds
         FROM orchestrator_outbox
        WHERE sent_at IS NULL`,
    );
    return { unsent: row.unsent, oldestAgeSeconds: Math.max(0, row.oldest_age_seconds) };
  }

  /**
   * Unsent rows whose last publish came back unroutable, per exchange (only exchanges that
   * have some). Reads the partial unsent index, so it stays cheap however many were sent.
   */
  async unroutable(): Promise<OutboxUnroutable[]> {
    const rows: {
      exchange: string;
      count: number;
      routing_keys: string[];
      oldest_created_at: Date;
      oldest_age_seconds: number;
      oldest_routing_key: string;
    }[] = await this.dataSource.query(
      `WITH u AS (
         SELECT exchange, routing_key, created_at FROM orchestrator_outbox
          WHERE sent_at IS NULL AND status = 'unroutable'
       ), keys AS (
         SELECT exchange, routing_key, count(*) AS n FROM u GROUP BY exchange, routing_key
       ), oldest AS (
         SELECT DISTINCT ON (exchange) exchange, routing_key, created_at
           FROM u ORDER BY exchange, created_at
       )
       SELECT o.exchange,
              (SELECT sum(n)::int FROM keys k WHERE k.exchange = o.exchange) AS count,
              ARRAY(SELECT k.routing_key FROM keys k WHERE k.exchange = o.exchange
                     ORDER BY k.n DESC, k.routing_key LIMIT $1) AS routing_keys,
              o.created_at AS oldest_created_at,
              GREATEST(EXTRACT(EPOCH FROM now() - o.created_at), 0)::float8 AS oldest_age_seconds,
              o.routing_key AS oldest_routing_key
         FROM oldest o
        ORDER BY o.exchange`,
      [UNROUTABLE_KEYS_LISTED],
    );
    return rows.map((r) => ({
      exchange: r.exchange,
      count: r.count,
      routingKeys: r.routing_keys,
      oldestCreatedAt: new Date(r.oldest_created_at),
      oldestAgeSeconds: r.oldest_age_seconds,
      oldestRoutingKey: r.oldest_routing_key,
    }));
  }

  /** Deletes up to `limit` rows sent more than retentionMs ago; returns how many. */
  async purgeSent(retentionMs: number, limit: number): Promise<number> {
    const [{ n }] = await this.dataSource.query(
      `WITH old AS (
         SELECT id FROM orchestrator_outbox
          WHERE sent_at < now() - ($1::bigint * interval '1 millisecond')
          LIMIT $2
       ), gone AS (
         DELETE FROM orchestrator_outbox o USING old WHERE o.id = old.id RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
      [retentionMs, limit],
    );
    return n;
  }

  private settle(runner: QueryRunner | undefined, committed: boolean): void {
    // a released savepoint also broadcasts "commit"; wait for the outermost COMMIT
    if (!runner || runner.isTransactionActive) return;
    const callbacks = this.afterCommitCallbacks.get(runner);
    if (!callbacks) return;
    this.afterCommitCallbacks.delete(runner);
    if (!committed) return;
    for (const fn of callbacks) {
      try {
        fn();
      } catch {
        // runs inside TypeORM's commitTransaction: a throw here would report a failed
        // commit for a transaction that did commit
      }
    }
  }
}
