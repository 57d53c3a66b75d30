import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { PGliteDriver } from 'typeorm-pglite';

/**
 * The embedded database holds every tenant's run history: readable by this user only.
 * PGlite unpacks a fresh database with its files set to 0666 explicitly, so the tree is
 * tightened once the database is open (and at start, for files an earlier version left).
 * The files it creates later (new relations, WAL segments) are created with the mode
 * PostgreSQL asks for, minus the umask; the process umask is narrowed for good, since
 * they keep coming for as long as it runs. Folders above DATA_DIR that already exist
 * are the operator's and are left alone.
 */
export function restrictEmbeddedDataDir(dataDir: string): void {
  // a worker thread may not change the umask; the chmod below still covers existing files
  if (isMainThread) process.umask(0o077);
  mkdirSync(dirname(dataDir), { recursive: true, mode: 0o700 });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  tighten(dataDir);
}

export function tighten(dir: string): void {
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) tighten(path);
    else if (entry.isFile()) chmodSync(path, 0o600);
  }
}

/**
 * typeorm-pglite hands every TypeORM "connection" the same PGlite session, so two
 * concurrent transactions would interleave their statements in one session. PGlite is
 * single-session by nature; we make the pool behave like a pool of size one: a connect()
 * waits until the previous holder released. Queries outside a transaction also take
 * and release it, so ordering is FIFO and nothing interleaves.
 */
export function createSerialPgliteDriver(dataDir: string): unknown {
  restrictEmbeddedDataDir(dataDir);
  const base = new PGliteDriver({ dataDir }).driver;
  const BasePool = base.Pool;

  class SerialPool extends BasePool {
    private tail: Promise<void> = Promise.resolve();
    private tightened = false;

    override async connect(
      callback: Parameters<InstanceType<typeof BasePool>['connect']>[0],
    ): Promise<void> {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const previous = this.tail;
      this.tail = previous.then(() => held);
      await previous;
      let released = false;
      await super.connect((err, client) => {
        // the first connection opens (and, on a fresh folder, unpacks) the database
        if (!err && !this.tightened) {
          this.tightened = true;
          tighten(dataDir);
        }
        callback(err, client, () => {
          if (!released) {
            released = true;
            release();
          }
        });
      });
    }
  }
  return { ...base, Pool: SerialPool };
}
