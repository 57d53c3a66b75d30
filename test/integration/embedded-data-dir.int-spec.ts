import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source';
import { restrictEmbeddedDataDir } from 'src/database/serial-pglite-driver';

/** Every path under dir (itself included) with its permission bits. */
interface Entry {
  path: string;
  kind: 'dir' | 'file';
  mode: number;
}

function modes(dir: string): Entry[] {
  const out: Entry[] = [{ path: dir, kind: 'dir', mode: statSync(dir).mode & 0o777 }];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...modes(path));
    else out.push({ path, kind: 'file', mode: statSync(path).mode & 0o777 });
  }
  return out;
}

const wrongModes = (dir: string) =>
  modes(dir).filter((m) => m.mode !== (m.kind === 'dir' ? 0o700 : 0o600));

describe('the embedded database folder', () => {
  let root: string;
  const umask = process.umask();

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'orch-modes-'));
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(root, { recursive: true, force: true });
  });

  it('is created 0700 with every PGlite file 0600, also the ones written after start', async () => {
    process.umask(0o022); // a usual login umask: PGlite alone would leave 0644/0666 files
    const dataDir = join(root, 'not-yet', 'data');
    const ds = new DataSource(
      buildDataSourceOptions({ DATABASE_URL: undefined, DATA_DIR: dataDir }),
    );
    await ds.initialize();
    try {
      await ds.runMigrations();
      // new relation files and WAL after start, not only those of the first open
      await ds.query('CREATE TABLE written_later (id int)');
      await ds.query('INSERT INTO written_later SELECT generate_series(1, 1000)');
      await ds.query('CHECKPOINT');
    } finally {
      await ds.destroy();
    }

    const files = modes(dataDir).filter((m) => m.kind === 'file');
    expect(files.length).toBeGreaterThan(500);
    expect(wrongModes(join(root, 'not-yet'))).toEqual([]);
  });

  it('tightens the files an earlier version left readable by everyone', () => {
    const dataDir = join(root, 'pglite');
    mkdirSync(join(dataDir, 'base', '1'), { recursive: true, mode: 0o777 });
    writeFileSync(join(dataDir, 'PG_VERSION'), '17');
    writeFileSync(join(dataDir, 'base', '1', '1259'), 'x');
    for (const path of [join(dataDir, 'PG_VERSION'), join(dataDir, 'base', '1', '1259')])
      chmodSync(path, 0o666);
    chmodSync(dataDir, 0o777);

    restrictEmbeddedDataDir(dataDir);

    expect(wrongModes(dataDir)).toEqual([]);
  });
});
