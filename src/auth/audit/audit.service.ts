import { Injectable, Logger } from '@nestjs/common';
import { Clock } from 'src/common/time/clock';
import { isUuid } from '../principal';
import { AuditQuery } from './dto/audit-query.dto';
import { AuditError } from './audit.errors';
import { AuditRepository, AuditRow, NewAuditEntry } from './audit.repository';

/** Largest before/after/request document kept whole; bigger ones are summarised. */
export const MAX_AUDIT_DOCUMENT_BYTES = 32 * 1024;

export interface AuditEntryView {
  id: string;
  at: string;
  subject: string;
  roles: string[];
  method: string;
  route: string;
  path: string;
  target: string | null;
  status_code: number;
  request: unknown;
  before: unknown;
  after: unknown;
  request_id: string | null;
}

/**
 * The audit trail facade: records each mutation (row + log line) and lists them. A
 * failure to write a row never undoes the change it describes (that already committed);
 * it is logged as an error naming the request, so the gap is visible.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly repository: AuditRepository,
    private readonly clock: Clock,
  ) {}

  async record(entry: Omit<NewAuditEntry, 'at'>): Promise<void> {
    const row = {
      ...entry,
      at: this.clock.now(),
      request: bounded(entry.request),
      before: bounded(entry.before),
      after: bounded(entry.after),
    };
    // who did what, never the payloads (docs/conventions.md "Logging")
    const fields = {
      subject: row.subject,
      roles: row.roles,
      method: row.method,
      route: row.route,
      target: row.target,
      status: row.statusCode,
      requestId: row.requestId,
    };
    try {
      const id = await this.repository.insert(row);
      this.logger.log({ msg: 'audit', auditId: id, ...fields });
    } catch (err) {
      this.logger.error({
        msg: 'audit row NOT written',
        error: (err as Error).message,
        ...fields,
      });
    }
  }

  async list(q: AuditQuery): Promise<{ items: AuditEntryView[]; next_cursor: string | null }> {
    const limit = q.limit ?? 50;
    const from = q.from ? new Date(q.from) : undefined;
    const to = q.to ? new Date(q.to) : undefined;
    if (from && to && from >= to) throw AuditError.invalidRange();
    const before = q.cursor ? decodeCursor(q.cursor) : undefined;
    const rows = await this.repository.search({
      subject: q.subject,
      route: q.route,
      target: q.target,
      method: q.method,
      from,
      to,
      before,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toView),
      next_cursor: rows.length > limit && last ? encodeCursor(last) : null,
    };
  }
}

function bounded(doc: unknown): unknown {
  if (doc === undefined || doc === null) return null;
  const text = JSON.stringify(doc);
  if (text === undefined) return null;
  if (Buffer.byteLength(text) <= MAX_AUDIT_DOCUMENT_BYTES) return doc;
  return { truncated: true, bytes: Buffer.byteLength(text) };
}

function toView(r: AuditRow): AuditEntryView {
  return {
    id: r.id,
    at: r.at.toISOString(),
    subject: r.subject,
    roles: r.roles,
    method: r.method,
    route: r.route,
    path: r.path,
    target: r.target,
    status_code: r.statusCode,
    request: r.request,
    before: r.before,
    after: r.after,
    request_id: r.requestId,
  };
}

function encodeCursor(r: AuditRow): string {
  return Buffer.from(`${r.at.toISOString()}|${r.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  const [at, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const date = new Date(at ?? '');
  if (rest.length > 0 || !id || !isUuid(id) || Number.isNaN(date.getTime())) {
    throw AuditError.invalidCursor();
  }
  return { at: date, id };
}
