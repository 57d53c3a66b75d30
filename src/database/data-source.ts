import { join } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { Env } from 'src/config/env.schema';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { createSerialPgliteDriver } from './serial-pglite-driver';

/** The deadlines every PostgreSQL session of the service runs under. */
export interface DatabaseLimits {
  /** server side: a statement (lock waits included) is cancelled after this; 0 = never */
  statementTimeoutMs: number;
  /** server side: a statement waiting for a lock gives up after this; 0 = never */
  lockTimeoutMs: number;
  /** server side: a session idle inside a transaction is ended, releasing its locks; 0 = never */
  idleInTransactionTimeoutMs: number;
  /** client side: longest a query waits for a pooled connection (or a new one) */
  acquireTimeoutMs: number;
}

export const DEFAULT_DATABASE_LIMITS: DatabaseLimits = {
  statementTimeoutMs: 30_000,
  lockTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 60_000,
  acquireTimeoutMs: 5000,
};

type DatabaseEnv = Pick<Env, 'DATABASE_URL' | 'DATA_DIR'> &
  Partial<
    Pick<
      Env,
      | 'DATABASE_POOL_SIZE'
      | 'DATABASE_STATEMENT_TIMEOUT_MS'
      | 'DATABASE_LOCK_TIMEOUT_MS'
      | 'DATABASE_IDLE_TX_TIMEOUT_MS'
      | 'DATABASE_ACQUIRE_TIMEOUT_MS'
    >
  >;

/** The limits the environment asks for, the defaults where it says nothing. */
export function databaseLimits(
  env: DatabaseEnv,
  overrides: Partial<DatabaseLimits> = {},
): DatabaseLimits {
  return {
    statementTimeoutMs:
      env.DATABASE_STATEMENT_TIMEOUT_MS ?? DEFAULT_DATABASE_LIMITS.statementTimeoutMs,
    lockTimeoutMs: env.DATABASE_LOCK_TIMEOUT_MS ?? DEFAULT_DATABASE_LIMITS.lockTimeoutMs,
    idleInTransactionTimeoutMs:
      env.DATABASE_IDLE_TX_TIMEOUT_MS ?? DEFAULT_DATABASE_LIMITS.idleInTransactionTimeoutMs,
    acquireTimeoutMs: env.DATABASE_ACQUIRE_TIMEOUT_MS ?? DEFAULT_DATABASE_LIMITS.acquireTimeoutMs,
    ...overrides,
  };
}

/**
 * `pg` connection settings carrying the limits: the two timeouts go in the startup packet,
 * so every session has them from its first statement without an extra round trip.
 */
export function pgSessionOptions(limits: DatabaseLimits): Record<string, number> {
  return {
    connectionTimeoutMillis: limits.acquireTimeoutMs,
    // pg drops a zero, which is PostgreSQL's "never" anyway
    statement_timeout: limits.statementTimeoutMs,
    lock_timeout: limits.lockTimeoutMs,
    idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs,
  };
}

/**
 * The only place that knows which database this is: PostgreSQL through `pg` when
 * DATABASE_URL is set, otherwise embedded PGlite in DATA_DIR. Both speak PostgreSQL and
 * run the same migrations; nothing else branches on the kind. The limits apply to `pg`
 * only: PGlite is one in-process session that nothing outside can lock or hold.
 */
export function buildDataSourceOptions(
  env: DatabaseEnv,
  overrides: { poolSize?: number; applicationName?: string; limits?: Partial<DatabaseLimits> } = {},
): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'orchestrator_migrations',
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    // ids default to gen_random_uuid() (core PostgreSQL); PGlite has no uuid-ossp to install
    installExtensions: false,
    logging: false,
  };
  if (env.DATABASE_URL) {
    return {
      ...common,
      url: env.DATABASE_URL,
      poolSize: overrides.poolSize ?? env.DATABASE_POOL_SIZE ?? 20,
      applicationName: overrides.applicationName ?? 'bakery-orchestrator',
      extra: pgSessionOptions(databaseLimits(env, overrides.limits)),
    };
  }
  return {
    ...common,
    driver: createSerialPgliteDriver(join(env.DATA_DIR, 'pglite')),
  };
}

/** Which database a data source built by `buildDataSourceOptions` talks to. */
export function databaseKind(dataSource: DataSource): 'postgresql' | 'pglite' {
  // only the embedded database comes with its own driver
  return dataSource.options.driver ? 'pglite' : 'postgresql';
}
