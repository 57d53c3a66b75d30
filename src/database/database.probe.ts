import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { withTimeout } from 'src/common/time/deadline';
import { ControlDatabase } from './control-database';
import { databaseKind } from './data-source';

export type DatabaseState =
  | { ok: true; kind: 'postgresql' | 'pglite' }
  | { ok: false; kind: 'postgresql' | 'pglite'; reason: string };

/** Readiness answers within 2 s whatever hangs: the whole probe gets 1.5 s. */
const PROBE_TIMEOUT_MS = 1500;
const UNDEFINED_TABLE = '42P01';

/**
 * Readiness of the database: reachable and every migration applied. It asks through the
 * control connection, so a pool full of statements waiting on a locked table does not
 * make an instance that can still serve most routes look dead.
 */
@Injectable()
export class DatabaseProbe {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly control: ControlDatabase,
  ) {}

  async check(): Promise<DatabaseState> {
    const kind = databaseKind(this.dataSource);
    try {
      const pending = await withTimeout(
        this.pendingMigrations(),
        PROBE_TIMEOUT_MS,
        'pending migrations query',
      );
      if (pending.length > 0)
        return {
          ok: false,
          kind,
          reason: `migrations pending (${pending.join(', ')}): run \`node dist/cli.js migrate\``,
        };
      return { ok: true, kind };
    } catch (err) {
      return { ok: false, kind, reason: `database unreachable: ${(err as Error).message}` };
    }
  }

  /** One round trip: the ledger against the migrations this build knows. */
  private async pendingMigrations(): Promise<string[]> {
    const known = this.dataSource.migrations.map((m) => m.name ?? m.constructor.name);
    const tableName = this.dataSource.options.migrationsTableName ?? 'migrations';
    let applied: Set<string>;
    try {
      const { rows } = await this.control.query<{ name: string }>(`SELECT name FROM ${tableName}`);
      applied = new Set(rows.map((r) => r.name));
    } catch (err) {
      if (errorCode(err) === UNDEFINED_TABLE) return known;
      throw err;
    }
    return known.filter((name) => !applied.has(name));
  }
}

/** pg errors carry the SQLSTATE; TypeORM's wrapper keeps it on driverError. */
function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; driverError?: { code?: string } };
  return e.code ?? e.driverError?.code;
}
