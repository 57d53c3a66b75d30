import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { returnedRows } from 'src/common/sql/query-result';

export interface NewAuditEntry {
  at: Date;
  subject: string;
  roles: string[];
  method: string;
  route: string;
  path: string;
  target: string | null;
  statusCode: number;
  request: unknown;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface AuditRow extends NewAuditEntry {
  id: string;
}

export interface AuditFilter {
  subject?: string;
  /** substring of the route pattern, e.g. `/workflows/:workflow_id` or `enable` */
  route?: string;
  target?: string;
  method?: string;
  from?: Date;
  to?: Date;
  /** keyset: rows strictly older than (at, id) */
  before?: { at: Date; id: string };
  limit: number;
}

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

/** The only code that reads or writes orchestrator_audit_log. */
@Injectable()
export class AuditRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(e: NewAuditEntry): Promise<string> {
    const result: unknown = await this.dataSource.query(
      `INSERT INTO orchestrator_audit_log
         (at, subject, roles, method, route, path, target, status_code, request, before, after, request_id)
       VALUES ($1, $2, $3::text[], $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb, $12)
       RETURNING id`,
      [
        e.at,
        e.subject,
        e.roles,
        e.method,
        e.route,
        e.path,
        e.target,
        e.statusCode,
        json(e.request),
        json(e.before),
        json(e.after),
        e.requestId,
      ],
    );
    return returnedRows<{ id: string }>(result)[0].id;
  }

  async search(f: AuditFilter): Promise<AuditRow[]> {
    const rows: Record<string, any>[] = await this.dataSource.query(
      `SELECT id, at, subject, roles, method, route, path, target, status_code, request, before, after, request_id
         FROM orchestrator_audit_log
        WHERE ($1::text IS NULL OR subject = $1)
          AND ($2::text IS NULL OR strpos(route, $2) > 0)
          AND ($3::text IS NULL OR target = $3)
          AND ($4::text IS NULL OR method = $4)
          AND ($5::timestamptz IS NULL OR at >= $5)
          AND ($6::timestamptz IS NULL OR at < $6)
          AND ($7::timestamptz IS NULL OR (at, id) < ($7, $8::uuid))
        ORDER BY at DESC, id DESC
        LIMIT $9`,
      [
        f.subject ?? null,
        f.route ?? null,
        f.target ?? null,
        f.method ?? null,
        f.from ?? null,
        f.to ?? null,
        f.before?.at ?? null,
        f.before?.id ?? null,
        f.limit,
      ],
    );
    return rows.map((r) => ({
      id: r.id,
      at: new Date(r.at),
      subject: r.subject,
      roles: r.roles,
      method: r.method,
      route: r.route,
      path: r.path,
      target: r.target,
      statusCode: r.status_code,
      request: r.request,
      before: r.before,
      after: r.after,
      requestId: r.request_id,
    }));
  }
}
