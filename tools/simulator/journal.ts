/** One call to a downstream route, as GET /__sim/calls returns it. */
export interface JournalEntry {
  seq: number;
  service: string;
  operation: string;
  method: string;
  path: string;
  tenant_id: string | null;
  idempotency_key: string | null;
  request_id: string | null;
  /** 0 when the simulator never answered (hang cut by the client, or a reset) */
  status: number;
  replayed: boolean;
  /**
   * the call did the work (its handler ran and succeeded), whether or not the answer
   * reached the caller; a replay or a refused call did none. One per key = exactly once.
   */
  effect: boolean;
  /** the business day the request named (target_date, start_date, date or week_start) */
  business_date: string | null;
  at: string;
  duration_ms: number;
}

interface RawEntry {
  seq: number;
  service: string;
  operation: string;
  method: string;
  path: string;
  tenantId: string | null;
  idempotencyKey: string | null;
  requestId: string | null;
  status: number;
  replayed: boolean;
  effect: boolean;
  businessDate: string | null;
  atMs: number;
  durationMs: number;
}

export interface JournalFilter {
  service?: string;
  operation?: string;
  tenant_id?: string;
  idempotency_key?: string;
  status?: number;
  sinceMs?: number;
  limit?: number;
}

/**
 * Every call, kept raw (numbers, not ISO strings) because it is written thousands of
 * times a second and read rarely. Bounded: past `limit` the oldest tenth is dropped.
 */
export class Journal {
  private entries: RawEntry[] = [];
  private seq = 0;
  dropped = 0;

  constructor(readonly limit: number) {}

  record(entry: Omit<RawEntry, 'seq'>): void {
    if (this.entries.length >= this.limit) {
      const cut = Math.max(1, Math.floor(this.limit / 10));
      this.entries.splice(0, cut);
      this.dropped += cut;
    }
    this.entries.push({ ...entry, seq: ++this.seq });
  }

  get size(): number {
    return this.entries.length;
  }

  clear(): void {
    this.entries = [];
    this.dropped = 0;
  }

  query(filter: JournalFilter = {}): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (const e of this.entries) {
      if (filter.service !== undefined && e.service !== filter.service) continue;
      if (filter.operation !== undefined && e.operation !== filter.operation) continue;
      if (filter.tenant_id !== undefined && e.tenantId !== filter.tenant_id) continue;
      if (filter.idempotency_key !== undefined && e.idempotencyKey !== filter.idempotency_key)
        continue;
      if (filter.status !== undefined && e.status !== filter.status) continue;
      if (filter.sinceMs !== undefined && e.atMs < filter.sinceMs) continue;
      out.push({
        seq: e.seq,
        service: e.service,
        operation: e.operation,
        method: e.method,
        path: e.path,
        tenant_id: e.tenantId,
        idempotency_key: e.idempotencyKey,
        request_id: e.requestId,
        status: e.status,
        replayed: e.replayed,
        effect: e.effect,
        business_date: e.businessDate,
        at: new Date(e.atMs).toISOString(),
        duration_ms: e.durationMs,
      });
      if (filter.limit !== undefined && out.length >= filter.limit) break;
    }
    return out;
  }
}
