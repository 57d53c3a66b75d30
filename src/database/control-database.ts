import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from 'src/config/app-config.service';
import { databaseLimits, pgSessionOptions } from './data-source';

export interface ControlResult<T> {
  rows: T[];
  /** rows an INSERT/UPDATE/DELETE changed */
  affected: number;
}

/** Two: a readiness probe and a leader heartbeat may overlap; nothing else uses it. */
const CONTROL_POOL_SIZE = 2;
/** Control statements are single-row reads and writes: anything slower is a stuck database. */
const CONTROL_STATEMENT_TIMEOUT_MS = 2000;
const CONTROL_ACQUIRE_TIMEOUT_MS = 1500;

/**
 * A small connection pool of its own for what must keep answering while the work pool is
 * full: readiness and the leader's term and heartbeat. A locked table fills the work pool
 * with waiting statements; if these shared it, a lock on executions would make readiness
 * time out and the leader step down, though neither reads that table. On PGlite (one
 * in-process session nothing else can lock) it is the data source itself.
 */
@Injectable()
export class ControlDatabase implements OnApplicationShutdown {
  private readonly logger = new Logger(ControlDatabase.name);
  private readonly pool: Pool | null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    const url = config.get('DATABASE_URL');
    if (!url) {
      this.pool = null;
      return;
    }
    const limits = databaseLimits(
      {
        DATABASE_URL: url,
        DATA_DIR: config.get('DATA_DIR'),
        DATABASE_IDLE_TX_TIMEOUT_MS: config.get('DATABASE_IDLE_TX_TIMEOUT_MS'),
      },
      {
        statementTimeoutMs: CONTROL_STATEMENT_TIMEOUT_MS,
        lockTimeoutMs: CONTROL_STATEMENT_TIMEOUT_MS,
        acquireTimeoutMs: CONTROL_ACQUIRE_TIMEOUT_MS,
      },
    );
    this.pool = new Pool({
      connectionString: url,
      max: CONTROL_POOL_SIZE,
      application_name: 'bakery-orchestrator-control',
      ...pgSessionOptions(limits),
    });
    // an idle connection dropped by the server must not crash the process; the next query reconnects
    this.pool.on('error', (err: Error) =>
      this.logger.warn({ msg: 'control connection lost', error: err.message }),
    );
  }

  /** One statement, outside any transaction. */
  async query<T = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<ControlResult<T>> {
    if (this.pool) {
      const result = await this.pool.query(sql, params);
      return { rows: result.rows as T[], affected: result.rowCount ?? 0 };
    }
    const runner = this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(sql, params, true);
      return { rows: (result.records ?? []) as T[], affected: result.affected ?? 0 };
    } finally {
      await runner.release();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }
}
