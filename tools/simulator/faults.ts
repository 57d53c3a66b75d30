import type { Rng } from './prng';

/** A fault a test sets at runtime (docs/downstream-api.md "Faults"). */
export interface FaultSpec {
  service?: string;
  operation?: string;
  tenant_id?: string;
  status?: number;
  body?: unknown;
  retry_after?: number | string;
  latency_ms?: number;
  hang?: boolean;
  reset?: boolean;
  times?: number;
  probability?: number;
  /**
   * do the work first (and cache its answer under the Idempotency-Key), or replay it,
   * then answer with this fault's status or reset: "the downstream did it, the answer was
   * lost". A refused call (4xx, before-faults) is not struck: there was no work.
   */
  after_apply?: boolean;
}

export interface Fault extends FaultSpec {
  id: string;
  /** calls left before the fault expires; null = until deleted */
  remaining: number | null;
  hits: number;
  created_at: string;
}

export class FaultValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const isInt = (v: unknown, min: number, max: number) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Refuses a malformed fault whole, naming the field, like the API it imitates. */
export function parseFault(input: unknown): FaultSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultValidationError('body', 'a fault is a JSON object');
  }
  const known = new Set([
    'service',
    'operation',
    'tenant_id',
    'status',
    'body',
    'retry_after',
    'latency_ms',
    'hang',
    'reset',
    'times',
    'probability',
    'after_apply',
  ]);
  const spec = input as Record<string, unknown>;
  for (const key of Object.keys(spec)) {
    if (!known.has(key)) throw new FaultValidationError(key, `unknown field ${key}`);
  }
  for (const key of ['service', 'operation', 'tenant_id'] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== 'string') {
      throw new FaultValidationError(key, `${key} must be a string`);
    }
  }
  if (spec.status !== undefined && !isInt(spec.status, 100, 599)) {
    throw new FaultValidationError('status', 'status must be an HTTP status code (100-599)');
  }
  if (spec.latency_ms !== undefined && !isInt(spec.latency_ms, 0, 600_000)) {
    throw new FaultValidationError('latency_ms', 'latency_ms must be an integer from 0 to 600000');
  }
  if (spec.times !== undefined && !isInt(spec.times, 1, 1_000_000)) {
    throw new FaultValidationError('times', 'times must be a positive integer');
  }
  if (
    spec.probability !== undefined &&
    (typeof spec.probability !== 'number' || spec.probability < 0 || spec.probability > 1)
  ) {
    throw new FaultValidationError('probability', 'probability must be a number from 0 to 1');
  }
  if (
    spec.retry_after !== undefined &&
    typeof spec.retry_after !== 'string' &&
    !isInt(spec.retry_after, 0, 86_400)
  ) {
    throw new FaultValidationError('retry_after', 'retry_after must be seconds or an HTTP date');
  }
  for (const key of ['hang', 'reset', 'after_apply'] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== 'boolean') {
      throw new FaultValidationError(key, `${key} must be true or false`);
    }
  }
  if (spec.status === undefined && spec.latency_ms === undefined && !spec.hang && !spec.reset) {
    throw new FaultValidationError('status', 'a fault needs status, latency_ms, hang or reset');
  }
  if (spec.after_apply && spec.status === undefined && !spec.reset) {
    throw new FaultValidationError(
      'after_apply',
      'an after_apply fault needs status or reset: what replaces the answer once the work is done',
    );
  }
  return spec as FaultSpec;
}

/**
 * The active faults. Checked on every call, so the common case (no faults) is one length
 * test; with faults, a linear scan newest-first: tests set a handful, not thousands.
 */
export class FaultStore {
  private faults: Fault[] = [];
  private nextId = 1;

  constructor(private readonly rng: Rng) {}

  add(spec: FaultSpec, now: Date): Fault {
    const fault: Fault = {
      ...spec,
      id: `fault-${this.nextId++}`,
      remaining: spec.times ?? null,
      hits: 0,
      created_at: now.toISOString(),
    };
    this.faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  clear(): void {
    this.faults = [];
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }

  /**
   * The newest fault matching the call, consuming one of its `times`; undefined if none.
   * `afterApply` picks the faults that strike once the work is done instead of before it.
   */
  take(
    service: string,
    operation: string,
    tenantId: string | undefined,
    afterApply = false,
  ): Fault | undefined {
    if (this.faults.length === 0) return undefined;
    for (let i = this.faults.length - 1; i >= 0; i--) {
      const f = this.faults[i];
      if ((f.after_apply === true) !== afterApply) continue;
      if (f.service !== undefined && f.service !== service) continue;
      if (f.operation !== undefined && f.operation !== operation) continue;
      if (f.tenant_id !== undefined && f.tenant_id !== tenantId) continue;
      if (f.probability !== undefined && this.rng() >= f.probability) continue;
      f.hits++;
      if (f.remaining !== null) {
        f.remaining--;
        if (f.remaining <= 0) this.faults.splice(i, 1);
      }
      return f;
    }
    return undefined;
  }
}
