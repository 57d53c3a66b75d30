/**
 * TypeORM's `query()` answers UPDATE/DELETE on `pg` with `[rows, affected]` but plain rows
 * on PGlite (whose results carry no command tag). This gives the RETURNING rows either way,
 * so nothing above the repositories branches on the database kind.
 */
export function returnedRows<T = Record<string, any>>(result: unknown): T[] {
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return result as T[];
}
