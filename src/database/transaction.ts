import { DataSource, EntityManager } from 'typeorm';

/**
 * A running database transaction, handed from the module that opened it to another
 * module's facade so both write atomically (e.g. a parent's final status and its outbox
 * event). Only repositories look inside it.
 */
export type Transaction = EntityManager;

const commitHooks = new WeakMap<Transaction, (() => void)[]>();

/**
 * Opens a transaction whose participants may ask for work after it commits (waking
 * runners for the rows it inserted). The hooks run once the commit succeeded, never on a
 * rollback, and a hook that throws does not undo the commit.
 */
export async function runTransaction<T>(
  dataSource: DataSource,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const hooks: (() => void)[] = [];
  const value = await dataSource.transaction((tx) => {
    commitHooks.set(tx, hooks);
    return fn(tx);
  });
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // committed is committed: a wake-up that failed only delays work the poll finds
    }
  }
  return value;
}

/**
 * Runs `hook` after `tx` commits. Inside a transaction opened by runTransaction only: one
 * opened elsewhere has nobody to run it, which is a programming error, not a runtime one.
 */
export function afterCommit(tx: Transaction, hook: () => void): void {
  const hooks = commitHooks.get(tx);
  if (!hooks) throw new Error('afterCommit needs a transaction opened by runTransaction');
  hooks.push(hook);
}
