import { mkdirSync } from 'node:fs';
import { PGliteDriver } from 'typeorm-pglite';

/**
 * typeorm-pglite hands every TypeORM "connection" the same PGlite session, so two
 * concurrent transactions would interleave their statements in one session. PGlite is
 * single-session by nature; we make the pool behave like a pool of size one: a connect()
 * waits until the previous holder released. Queries outside a transaction also take
 * and release it, so ordering is FIFO and nothing interleaves.
 */
export function createSerialPgliteDriver(dataDir: string): unknown {
  mkdirSync(dataDir, { recursive: true });
  const base = new PGliteDriver({ dataDir }).driver;
  const BasePool = base.Pool;

  class SerialPool extends BasePool {
    private tail: Promise<void> = Promise.resolve();

    override async connect(
      callback: Parameters<InstanceType<typeof BasePool>['connect']>[0],
    ): Promise<void> {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const previous = this.tail;
      this.tail = previous.then(() => held);
      await previous;
      let released = false;
      await super.connect((err, client) =>
        callback(err, client, () => {
          if (!released) {
            released = true;
            release();
          }
        }),
      );
    }
  }
  return { ...base, Pool: SerialPool };
}
