import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export type DatabaseState =
  | { ok: true; kind: 'postgresql' | 'pglite' }
  | { ok: false; kind: 'postgresql' | 'pglite'; reason: string };

const PROBE_TIMEOUT_MS = 2000;

/** Readiness of the database: reachable and every migration applied. */
@Injectable()
export class DatabaseProbe {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async check(): Promise<DatabaseState> {
    const kind = this.dataSource.options.driver ? 'pglite' : 'postgresql';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)),
        PROBE_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([this.dataSource.query('SELECT 1'), timeout]);
      const pending = await Promise.race([this.dataSource.showMigrations(), timeout]);
      if (pending)
        return { ok: false, kind, reason: 'migrations pending: run `node dist/cli.js migrate`' };
      return { ok: true, kind };
    } catch (err) {
      return { ok: false, kind, reason: `database unreachable: ${(err as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }
}
