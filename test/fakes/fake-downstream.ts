import { randomUUID } from 'node:crypto';
import type {
  OperationContext,
  OperationRegistry,
  OperationResult,
  Tenant,
} from 'src/clients/operation-registry';
import { OPERATION_NAMES } from 'src/clients/operation-registry';
import { TenantDirectory } from 'src/executions/ports';

export interface FakeCall {
  operation: string;
  tenantId: string;
  executionId: string;
  idempotencyKey: string;
  outcome: 'ok' | 'error' | 'aborted';
  startedAt: number;
  endedAt: number;
}

/** fail: a 503 (retryable); refuse: a 400 (permanent); hang: until aborted */
type Behaviour = (ctx: OperationContext) => 'ok' | 'fail' | 'refuse' | 'hang';

/**
 * The downstream platform for engine integration tests, in process: an operation
 * registry that records every call (the same journal the simulator keeps over HTTP) and
 * can fail or hang chosen operations for chosen tenants.
 */
export class FakeDownstream implements OperationRegistry {
  readonly calls: FakeCall[] = [];
  private behaviours: Behaviour[] = [];

  constructor(private readonly latencyMs = 5) {}

  names(): string[] {
    return [...OPERATION_NAMES];
  }

  has(name: string): boolean {
    return (OPERATION_NAMES as readonly string[]).includes(name);
  }

  /** Later rules win; a rule returning 'ok' defers to earlier ones. */
  when(behaviour: Behaviour): this {
    this.behaviours.push(behaviour);
    return this;
  }

  reset(): void {
    this.behaviours = [];
    this.calls.length = 0;
  }

  async run(name: string, ctx: OperationContext): Promise<OperationResult> {
    const call: FakeCall = {
      operation: name,
      tenantId: ctx.tenant.id,
      executionId: ctx.executionId,
      idempotencyKey: ctx.idempotencyKey,
      outcome: 'ok',
      startedAt: Date.now(),
      endedAt: 0,
    };
    this.calls.push(call);
    const verdict =
      [...this.behaviours]
        .reverse()
        .map((b) => b(ctx))
        .find((v) => v !== 'ok') ?? 'ok';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = verdict === 'hang' ? null : setTimeout(resolve, this.latencyMs);
        const onAbort = () => {
          if (timer) clearTimeout(timer);
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        };
        if (ctx.signal.aborted) onAbort();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
      });
    } catch (err) {
      call.outcome = 'aborted';
      call.endedAt = Date.now();
      throw err;
    }
    call.endedAt = Date.now();
    if (verdict === 'refuse') {
      call.outcome = 'error';
      throw Object.assign(new Error(`${name} answered 400: days_ahead must be an integer`), {
        service: name.split('.')[0],
        operation: name,
        status: 400,
        retryable: false,
      });
    }
    if (verdict === 'fail') {
      call.outcome = 'error';
      throw Object.assign(new Error(`${name} answered 503 for tenant ${ctx.tenant.id}`), {
        service: name.split('.')[0],
        operation: name,
        status: 503,
        retryable: true,
      });
    }
    return {
      operation: name,
      tenant_id: ctx.tenant.id,
      count: 7,
      seen: Object.keys(ctx.previousResults).sort(),
    };
  }

  callsOf(tenantId: string): FakeCall[] {
    return this.calls.filter((c) => c.tenantId === tenantId);
  }
}

export class FakeTenantDirectory extends TenantDirectory {
  constructor(public tenants: Tenant[]) {
    super();
  }

  async listTenants(): Promise<Tenant[]> {
    return this.tenants;
  }
}

const TIERS = ['enterprise', 'professional', 'starter', 'free'] as const;

export function makeTenants(n: number, options: { inactive?: number } = {}): Tenant[] {
  const tenants: Tenant[] = [];
  for (let i = 0; i < n; i++) {
    tenants.push({
      id: randomUUID(),
      name: `Bakery ${i}`,
      status: i < (options.inactive ?? 0) ? (i % 2 === 0 ? 'suspended' : 'cancelled') : 'active',
      subscription_tier: TIERS[i % TIERS.length],
      timezone: 'Europe/Madrid',
      region: { country: 'ES', region: 'MD' },
    });
  }
  return tenants;
}
