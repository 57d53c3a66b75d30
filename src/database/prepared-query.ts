import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { databaseKind } from './data-source';
import { returnedRows } from 'src/common/sql/query-result';

/**
 * Runs one of the engine's hot statements (thousands a second under a large run) as a
 * named prepared statement where the driver has them: on `pg`, each connection parses
 * and plans it once instead of on every call, which was a third of PostgreSQL's CPU at
 * 6,000 steps a second (bench/fanout). PGlite's single session gains nothing from it and
 * takes the plain query. Returns the result rows (RETURNING rows for writes) either way.
 *
 * `name` must be unique per statement text: a connection keeps the first text it saw.
 */
export async function preparedQuery<T = Record<string, any>>(
  dataSource: DataSource,
  name: string,
  text: string,
  params: unknown[],
): Promise<T[]> {
  if (databaseKind(dataSource) === 'postgresql') {
    // the pg Pool TypeORM opened for this data source (the same connections, the same limit)
    const pool = (dataSource.driver as unknown as { master: Pool }).master;
    const result = await pool.query({ name, text, values: params });
    return result.rows as T[];
  }
  return returnedRows<T>(await dataSource.query(text, params));
}
