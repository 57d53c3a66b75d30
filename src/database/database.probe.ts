import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { withTimeout } from 'src/common/time/with-timeout';
import { databaseKind } from './data-source';

export type DatabaseState =
  | { ok: true; kind: 'postgresql' | 'pglite' }
  | { ok: false; kind: 'postgresql' | 'pglite'; reason: string };

const PROBE_TIMEOUT_MS = 2000;

/** Readiness of the database: reachable and every migration applied. */
@Injectable()
export class DatabaseProbe {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async check(): Promise<DatabaseState> {
    const kind = databaseKind(this.dataSource);
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), PROBE_TIMEOUT_MS);
      const pending = await withTimeout(this.dataSource.showMigrations(), PROBE_TIMEOUT_MS);
      if (pending)
        return { ok: false, kind, reason: 'migrations pending: run `node dist/cli.js migrate`' };
      return { ok: true, kind };
    } catch (err) {
      return { ok: false, kind, reason: `database unreachable: ${(err as Error).message}` };
    }
  }
}
