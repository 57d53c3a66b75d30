import http, { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import type { Tenant } from 'src/clients/operation-registry';
import {
  DeliveryCase,
  SimPurchaseOrder,
  TenantRecord,
  generateTenants,
  purchaseOrdersFor,
} from './data';
import { Fault, FaultSpec, FaultStore, FaultValidationError, parseFault } from './faults';
import { Journal, JournalEntry, JournalFilter } from './journal';
import { hashSeed, mulberry32, Rng } from './prng';
import {
  BadRequest,
  ROUTES,
  ROUTE_PATHS,
  RouteDef,
  errorBody,
  isObject,
  paginate,
  queryInt,
} from './routes';

/** How the simulator names itself: in its banner, its health route and every response. */
export const SIMULATOR_NAME = 'bakery-platform-simulator';

export interface SimulatorOptions {
  /** 0 (default) picks a free port */
  port?: number;
  host?: string;
  tenants?: number;
  seed?: number;
  latencyMs?: number;
  /** each answer waits latencyMs plus a uniform ±jitterMs (never below 0) */
  jitterMs?: number;
  /** share of calls answered 503 (seeded) */
  errorRate?: number;
  /** share of calls never answered (seeded): the client must time out */
  timeoutRate?: number;
  purchaseOrdersPerTenant?: number;
  /** instant the purchase-order windows are placed around; default: start time */
  anchor?: Date | string;
  /** require exactly this bearer token; default: any non-empty bearer token */
  token?: string;
  /** false: every tenant active */
  includeInactive?: boolean;
  journalLimit?: number;
  /** a hung call is dropped after this long (default 10 min) */
  hangMs?: number;
}

export interface SimulatorConfig {
  latency_ms: number;
  jitter_ms: number;
  error_rate: number;
  timeout_rate: number;
  seed: number;
  tenants: number;
  purchase_orders_per_tenant: number;
  token_required: boolean;
}

export interface SimulatorStats {
  total_calls: number;
  in_flight: Record<string, number>;
  max_in_flight: Record<string, number>;
  by_operation: Record<string, { count: number; statuses: Record<string, number> }>;
}

export interface RunningSimulator {
  url: string;
  port: number;
  close(): Promise<void>;
  /** every tenant, every status, in generation order */
  tenants(): Tenant[];
  activeTenants(): Tenant[];
  calls(filter?: JournalFilter): JournalEntry[];
  clearCalls(): void;
  addFault(spec: FaultSpec): Fault;
  clearFaults(): void;
  stats(): SimulatorStats;
  resetStats(): void;
  /** every fault, journal entry, counter and cached idempotent answer dropped */
  reset(): void;
  config(): SimulatorConfig;
  setConfig(
    patch: Partial<
      Pick<SimulatorConfig, 'latency_ms' | 'jitter_ms' | 'error_rate' | 'timeout_rate'>
    >,
  ): SimulatorConfig;
  anchor(): Date;
  setAnchor(anchor: Date): void;
  purchaseOrders(tenantId: string): Array<SimPurchaseOrder['po'] & { sim_case: DeliveryCase }>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const TENANT_STATUSES = new Set(['active', 'suspended', 'cancelled']);
const SERVICES = [
  'tenant',
  'forecasting',
  'production',
  'procurement',
  'inventory',
  'notification',
  'training',
  'alert_processor',
];

class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * One node:http server for every downstream service. Deliberately framework-free and
 * silent per request: it shares the machine's cores with the orchestrator it is measuring.
 */
class Simulator {
  readonly seed: number;
  readonly records: TenantRecord[];
  readonly byId = new Map<string, TenantRecord>();
  private sorted: TenantRecord[];
  private listCache = new Map<string, TenantRecord[]>();
  readonly faults: FaultStore;
  readonly journal: Journal;
  private readonly chaos: Rng;
  private readonly idempotent = new Map<string, { status: number; body: string }>();
  private readonly routesByKey = new Map<string, RouteDef>();
  anchorMs: number;
  latencyMs: number;
  jitterMs: number;
  errorRate: number;
  timeoutRate: number;
  readonly perTenant: number;
  readonly token: string | undefined;
  readonly hangMs: number;
  readonly startedAt = Date.now();
  readonly hung = new Set<ServerResponse>();
  totalCalls = 0;
  inFlight: Record<string, number> = {};
  maxInFlight: Record<string, number> = {};
  byOperation: Record<string, { count: number; statuses: Record<string, number> }> = {};

  constructor(options: SimulatorOptions) {
    this.seed = options.seed ?? 42;
    this.records = generateTenants({
      seed: this.seed,
      count: options.tenants ?? 50,
      includeInactive: options.includeInactive ?? true,
    });
    for (const r of this.records) this.byId.set(r.tenant.id, r);
    this.sorted = [...this.records].sort((a, b) => (a.tenant.id < b.tenant.id ? -1 : 1));
    this.faults = new FaultStore(mulberry32(hashSeed(this.seed, 'faults')));
    this.chaos = mulberry32(hashSeed(this.seed, 'chaos'));
    this.journal = new Journal(options.journalLimit ?? 500_000);
    const anchor = options.anchor === undefined ? new Date() : new Date(options.anchor);
    if (Number.isNaN(anchor.getTime()))
      throw new Error(`anchor ${String(options.anchor)} is not a date`);
    this.anchorMs = anchor.getTime();
    this.latencyMs = options.latencyMs ?? 0;
    this.jitterMs = options.jitterMs ?? 0;
    this.errorRate = options.errorRate ?? 0;
    this.timeoutRate = options.timeoutRate ?? 0;
    this.perTenant = options.purchaseOrdersPerTenant ?? 8;
    this.token = options.token;
    this.hangMs = options.hangMs ?? 600_000;
    for (const s of SERVICES) {
      this.inFlight[s] = 0;
      this.maxInFlight[s] = 0;
    }
    for (const r of ROUTES) this.routesByKey.set(`${r.method} ${ROUTE_PATHS[r.operation]}`, r);
  }

  config(): SimulatorConfig {
    return {
      latency_ms: this.latencyMs,
      jitter_ms: this.jitterMs,
      error_rate: this.errorRate,
      timeout_rate: this.timeoutRate,
      seed: this.seed,
      tenants: this.records.length,
      purchase_orders_per_tenant: this.perTenant,
      token_required: this.token !== undefined,
    };
  }

  setConfig(patch: Record<string, unknown>): SimulatorConfig {
    const num = (key: string, min: number, max: number): number | undefined => {
      const v = patch[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !(v >= min && v <= max)) {
        throw new ControlError(
          400,
          'VALIDATION_ERROR',
          `${key} must be from ${min} to ${max}`,
          key,
        );
      }
      return v;
    };
    for (const key of Object.keys(patch)) {
      if (!['latency_ms', 'jitter_ms', 'error_rate', 'timeout_rate'].includes(key)) {
        throw new ControlError(400, 'VALIDATION_ERROR', `${key} cannot be changed at runtime`, key);
      }
    }
    const latency = num('latency_ms', 0, 600_000);
    const jitter = num('jitter_ms', 0, 600_000);
    const errors = num('error_rate', 0, 1);
    const timeouts = num('timeout_rate', 0, 1);
    if (latency !== undefined) this.latencyMs = latency;
    if (jitter !== undefined) this.jitterMs = jitter;
    if (errors !== undefined) this.errorRate = errors;
    if (timeouts !== undefined) this.timeoutRate = timeouts;
    return this.config();
  }

  stats(): SimulatorStats {
    return {
      total_calls: this.totalCalls,
      in_flight: { ...this.inFlight },
      max_in_flight: { ...this.maxInFlight },
      by_operation: JSON.parse(JSON.stringify(this.byOperation)),
    };
  }

  resetStats(): void {
    this.totalCalls = 0;
    this.byOperation = {};
    // a call still in flight keeps counting, so the maximum restarts from the present
    for (const s of SERVICES) this.maxInFlight[s] = this.inFlight[s];
  }

  reset(): void {
    this.faults.clear();
    this.journal.clear();
    this.idempotent.clear();
    this.resetStats();
  }

  tenantsWithStatus(filter: string | null): TenantRecord[] {
    const key = filter ?? '*';
    let hit = this.listCache.get(key);
    if (!hit) {
      const wanted = filter === null ? null : new Set(filter.split(',').map((s) => s.trim()));
      hit = this.sorted.filter((r) => wanted === null || wanted.has(r.tenant.status));
      this.listCache.set(key, hit);
    }
    return hit;
  }

  patchTenant(id: string, patch: Record<string, unknown>): Tenant {
    const record = this.byId.get(id);
    if (!record) throw new ControlError(404, 'TENANT_NOT_FOUND', `tenant ${id} not found`);
    const t = record.tenant as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(patch)) {
      if (!['status', 'subscription_tier', 'timezone', 'region', 'name'].includes(key)) {
        throw new ControlError(400, 'VALIDATION_ERROR', `${key} cannot be changed`, key);
      }
      if (key === 'status' && !TENANT_STATUSES.has(value as string)) {
        throw new ControlError(
          400,
          'VALIDATION_ERROR',
          'status must be active, suspended or cancelled',
          key,
        );
      }
      t[key] = value;
    }
    this.listCache.clear();
    return record.tenant;
  }

  purchaseOrders(tenantId: string) {
    const record = this.byId.get(tenantId);
    if (!record) throw new ControlError(404, 'TENANT_NOT_FOUND', `tenant ${tenantId} not found`);
    return purchaseOrdersFor(this.seed, record, this.anchorMs, this.perTenant).map((p) => ({
      ...p.po,
      sim_case: p.sim_case,
    }));
  }

  // -------------------------------------------------------------------------------------
  // downstream calls

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? null : new URLSearchParams(url.slice(q + 1));
    if (path.startsWith('/__sim')) {
      this.control(req, res, path, query);
      return;
    }
    const method = req.method ?? 'GET';
    const route = this.routesByKey.get(`${method} ${path}`);
    let service: string;
    let operation: string;
    let tenantFromPath: string | undefined;
    if (route) {
      service = route.service;
      operation = route.operation;
    } else if (method === 'GET' && path === '/api/v1/tenants') {
      service = 'tenant';
      operation = 'tenant.list';
    } else if (method === 'GET' && path.startsWith('/api/v1/tenants/')) {
      service = 'tenant';
      operation = 'tenant.get';
      tenantFromPath = decodeURIComponent(path.slice('/api/v1/tenants/'.length));
    } else {
      sendJson(res, 404, errorBody('NOT_FOUND', `no route ${method} ${path}`));
      return;
    }
    this.track(req, res, service, operation, path, tenantFromPath, query);
    if (method === 'GET') {
      this.dispatch(req, res, route, service, operation, {}, query, tenantFromPath);
      return;
    }
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      let body: Record<string, unknown>;
      try {
        const parsed: unknown = raw === '' ? {} : JSON.parse(raw);
        if (!isObject(parsed)) throw new Error();
        body = parsed;
      } catch {
        this.answer(
          res,
          400,
          JSON.stringify(errorBody('VALIDATION_ERROR', 'body must be a JSON object', 'body')),
          0,
        );
        return;
      }
      const tenantId = typeof body.tenant_id === 'string' ? body.tenant_id : undefined;
      (res as TrackedResponse).simTenantId = tenantId ?? null;
      (res as TrackedResponse).simBusinessDate = businessDateOf(body);
      this.dispatch(req, res, route, service, operation, body, query, tenantId);
    });
  }

  /** Counts the call in flight now and journals it once, whenever and however it ends. */
  private track(
    req: IncomingMessage,
    res: ServerResponse,
    service: string,
    operation: string,
    path: string,
    tenantId: string | undefined,
    query: URLSearchParams | null,
  ): void {
    const at = Date.now();
    const inFlight = ++this.inFlight[service];
    if (inFlight > this.maxInFlight[service]) this.maxInFlight[service] = inFlight;
    const tracked = res as TrackedResponse;
    tracked.simTenantId = tenantId ?? query?.get('tenant_id') ?? null;
    tracked.simReplayed = false;
    tracked.simEffect = false;
    tracked.simBusinessDate = null;
    const idem = req.headers['idempotency-key'];
    const reqId = req.headers['x-request-id'];
    res.on('close', () => {
      this.inFlight[service]--;
      this.hung.delete(res);
      const status = res.writableFinished ? res.statusCode : 0;
      this.totalCalls++;
      let op = this.byOperation[operation];
      if (!op) op = this.byOperation[operation] = { count: 0, statuses: {} };
      op.count++;
      op.statuses[status] = (op.statuses[status] ?? 0) + 1;
      this.journal.record({
        service,
        operation,
        method: req.method ?? 'GET',
        path,
        tenantId: tracked.simTenantId,
        idempotencyKey: typeof idem === 'string' ? idem : null,
        requestId: typeof reqId === 'string' ? reqId : null,
        status,
        replayed: tracked.simReplayed,
        effect: tracked.simEffect,
        businessDate: tracked.simBusinessDate,
        atMs: at,
        durationMs: Date.now() - at,
      });
    });
  }

  private dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    route: RouteDef | undefined,
    service: string,
    operation: string,
    body: Record<string, unknown>,
    query: URLSearchParams | null,
    tenantId: string | undefined,
  ): void {
    const reqId = req.headers['x-request-id'];
    if (typeof reqId === 'string') res.setHeader('X-Request-Id', reqId);

    // faults come first: an outage answers 503 whatever the request looked like
    const tenantForFault = tenantId ?? query?.get('tenant_id') ?? undefined;
    const fault = this.faults.take(service, operation, tenantForFault);
    let delay = this.latencyMs;
    if (this.jitterMs > 0) delay = Math.max(0, delay + (this.chaos() * 2 - 1) * this.jitterMs);
    if (fault) {
      delay += fault.latency_ms ?? 0;
      if (fault.reset) {
        res.socket?.destroy();
        return;
      }
      if (fault.hang) {
        this.hang(res);
        return;
      }
      if (fault.status !== undefined) {
        const headers: Record<string, string> = {};
        if (fault.retry_after !== undefined) headers['Retry-After'] = String(fault.retry_after);
        const payload =
          fault.body !== undefined
            ? fault.body
            : errorBody(
                fault.status >= 500 ? 'UNAVAILABLE' : 'INJECTED_FAULT',
                `injected fault ${fault.id}`,
              );
        this.answer(res, fault.status, JSON.stringify(payload), delay, headers);
        return;
      }
    }
    if (this.timeoutRate > 0 && this.chaos() < this.timeoutRate) {
      this.hang(res);
      return;
    }
    if (this.errorRate > 0 && this.chaos() < this.errorRate) {
      this.answer(res, 503, JSON.stringify(errorBody('UNAVAILABLE', 'simulated error')), delay);
      return;
    }

    const auth = req.headers.authorization;
    if (
      typeof auth !== 'string' ||
      !auth.startsWith('Bearer ') ||
      auth.length <= 7 ||
      (this.token !== undefined && auth.slice(7) !== this.token)
    ) {
      this.answer(
        res,
        401,
        JSON.stringify(errorBody('UNAUTHORIZED', 'missing or invalid service token')),
        delay,
      );
      return;
    }

    const idemKey = req.headers['idempotency-key'];
    const cacheKey =
      typeof idemKey === 'string' && req.method === 'POST' ? `${operation}\n${idemKey}` : undefined;
    if (cacheKey !== undefined) {
      const cached = this.idempotent.get(cacheKey);
      if (cached) {
        (res as TrackedResponse).simReplayed = true;
        if (this.loseAnswer(res, service, operation, tenantForFault, delay)) return;
        this.answer(res, cached.status, cached.body, delay, { 'Idempotent-Replayed': 'true' });
        return;
      }
    }

    let status: number;
    let payload: string;
    try {
      const result = this.run(route, operation, body, query, tenantId);
      status = result.status;
      payload = JSON.stringify(result.body);
    } catch (err) {
      if (err instanceof BadRequest) {
        status = 400;
        payload = JSON.stringify(errorBody('VALIDATION_ERROR', err.message, err.field));
      } else if (err instanceof ControlError) {
        status = err.status;
        payload = JSON.stringify(errorBody(err.code, err.message, err.field));
      } else {
        status = 500;
        payload = JSON.stringify(errorBody('INTERNAL_ERROR', (err as Error).message));
      }
    }
    if (status >= 200 && status < 300) {
      (res as TrackedResponse).simEffect = true;
      if (cacheKey !== undefined) this.remember(cacheKey, status, payload);
      if (this.loseAnswer(res, service, operation, tenantForFault, delay)) return;
    }
    this.answer(res, status, payload, delay);
  }

  /**
   * An after_apply fault: the work is done (or replayed) and remembered, and the answer is
   * lost on the way back (reset) or replaced by the fault's status. True when it struck.
   */
  private loseAnswer(
    res: ServerResponse,
    service: string,
    operation: string,
    tenantId: string | undefined,
    delay: number,
  ): boolean {
    const lost = this.faults.take(service, operation, tenantId, true);
    if (!lost) return false;
    if (lost.reset) {
      res.socket?.destroy();
      return true;
    }
    const body =
      lost.body !== undefined
        ? lost.body
        : errorBody(
            lost.status! >= 500 ? 'UNAVAILABLE' : 'INJECTED_FAULT',
            `injected fault ${lost.id} (after the work was done)`,
          );
    this.answer(res, lost.status!, JSON.stringify(body), delay);
    return true;
  }

  private run(
    route: RouteDef | undefined,
    operation: string,
    body: Record<string, unknown>,
    query: URLSearchParams | null,
    tenantId: string | undefined,
  ): { status: number; body: unknown } {
    if (operation === 'tenant.list') {
      const status = query?.get('status') ?? null;
      if (status !== null) {
        for (const s of status.split(',')) {
          if (!TENANT_STATUSES.has(s.trim()))
            throw new BadRequest('status', `unknown tenant status ${s}`);
        }
      }
      const page = queryInt(query, 'page', 1, 1_000_000);
      const pageSize = queryInt(query, 'page_size', 100, 500);
      const result = paginate(this.tenantsWithStatus(status), page, pageSize);
      return { status: 200, body: { ...result, items: result.items.map((r) => r.tenant) } };
    }
    if (operation === 'tenant.get') {
      const record = this.byId.get(tenantId ?? '');
      if (!record) throw new ControlError(404, 'TENANT_NOT_FOUND', `tenant ${tenantId} not found`);
      return { status: 200, body: record.tenant };
    }
    const def = route!;
    const raw = def.tenantFrom === 'query' ? query?.get('tenant_id') : body.tenant_id;
    let record: TenantRecord | undefined;
    if (raw === null && def.tenantNullable && def.tenantFrom === 'body') {
      record = undefined;
    } else {
      if (typeof raw !== 'string' || raw === '')
        throw new BadRequest('tenant_id', 'tenant_id is required');
      record = this.byId.get(raw);
      if (!record)
        throw new ControlError(404, 'TENANT_NOT_FOUND', `tenant ${raw} not found`, 'tenant_id');
      if (def.requireActive && record.tenant.status !== 'active') {
        throw new ControlError(
          409,
          'TENANT_NOT_ACTIVE',
          `tenant ${raw} is ${record.tenant.status}`,
          'tenant_id',
        );
      }
    }
    return def.handle({
      body,
      query,
      record,
      seed: this.seed,
      nowMs: Date.now(),
      anchorMs: this.anchorMs,
      purchaseOrdersPerTenant: this.perTenant,
      tenantsById: this.byId,
    });
  }

  private remember(key: string, status: number, body: string): void {
    // bounded like the journal: the oldest answers go first (Map keeps insertion order)
    if (this.idempotent.size >= this.journal.limit) {
      let drop = Math.ceil(this.idempotent.size / 10);
      for (const k of this.idempotent.keys()) {
        this.idempotent.delete(k);
        if (--drop <= 0) break;
      }
    }
    this.idempotent.set(key, { status, body });
  }

  private hang(res: ServerResponse): void {
    this.hung.add(res);
    const timer = setTimeout(() => res.socket?.destroy(), this.hangMs);
    timer.unref();
    res.on('close', () => clearTimeout(timer));
  }

  private answer(
    res: ServerResponse,
    status: number,
    body: string,
    delayMs: number,
    headers?: Record<string, string>,
  ): void {
    if (delayMs <= 0) {
      sendRaw(res, status, body, headers);
      return;
    }
    setTimeout(sendRaw, delayMs, res, status, body, headers);
  }

  // -------------------------------------------------------------------------------------
  // control API

  private control(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams | null,
  ): void {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      try {
        let body: unknown = undefined;
        if (raw !== '') {
          try {
            body = JSON.parse(raw);
          } catch {
            throw new ControlError(400, 'VALIDATION_ERROR', 'body must be JSON', 'body');
          }
        }
        const result = this.controlRoute(req.method ?? 'GET', path, query, body);
        if (result === undefined) {
          res.writeHead(204, { 'X-Simulator': SIMULATOR_NAME });
          res.end();
        } else {
          sendJson(res, result.status, result.body);
        }
      } catch (err) {
        if (err instanceof ControlError)
          sendJson(res, err.status, errorBody(err.code, err.message, err.field));
        else if (err instanceof FaultValidationError)
          sendJson(res, 400, errorBody('VALIDATION_ERROR', err.message, err.field));
        else sendJson(res, 500, errorBody('INTERNAL_ERROR', (err as Error).message));
      }
    });
  }

  private controlRoute(
    method: string,
    path: string,
    query: URLSearchParams | null,
    body: unknown,
  ): { status: number; body: unknown } | undefined {
    const ok = (b: unknown) => ({ status: 200, body: b });
    const objectBody = () => {
      if (!isObject(body)) {
        throw new ControlError(400, 'VALIDATION_ERROR', 'body must be a JSON object', 'body');
      }
      return body;
    };
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /__sim/health':
        return ok({
          simulator: SIMULATOR_NAME,
          tenants: this.records.length,
          active_tenants: this.tenantsWithStatus('active').length,
          uptime_ms: Date.now() - this.startedAt,
          config: this.config(),
        });
      case 'GET /__sim/config':
        return ok(this.config());
      case 'PUT /__sim/config':
        return ok(this.setConfig(objectBody()));
      case 'POST /__sim/faults':
        return { status: 201, body: this.faults.add(parseFault(body), new Date()) };
      case 'GET /__sim/faults':
        return ok(this.faults.list());
      case 'DELETE /__sim/faults':
        this.faults.clear();
        return undefined;
      case 'GET /__sim/calls':
        return ok(this.journal.query(journalFilter(query)));
      case 'DELETE /__sim/calls':
        this.journal.clear();
        return undefined;
      case 'GET /__sim/stats':
        return ok(this.stats());
      case 'DELETE /__sim/stats':
        this.resetStats();
        return undefined;
      case 'GET /__sim/clock':
        return ok({ anchor: new Date(this.anchorMs).toISOString(), now: new Date().toISOString() });
      case 'PUT /__sim/clock': {
        const anchor = objectBody().anchor;
        const ms = typeof anchor === 'string' ? Date.parse(anchor) : NaN;
        if (Number.isNaN(ms))
          throw new ControlError(
            400,
            'VALIDATION_ERROR',
            'anchor must be an ISO instant',
            'anchor',
          );
        this.anchorMs = ms;
        return ok({ anchor: new Date(ms).toISOString(), now: new Date().toISOString() });
      }
      case 'GET /__sim/tenants':
        return ok(this.tenantsWithStatus(query?.get('status') ?? null).map((r) => r.tenant));
      case 'GET /__sim/purchase-orders': {
        const tenantId = query?.get('tenant_id');
        if (!tenantId)
          throw new ControlError(400, 'VALIDATION_ERROR', 'tenant_id is required', 'tenant_id');
        const wanted = query?.get('case');
        return ok(this.purchaseOrders(tenantId).filter((p) => !wanted || p.sim_case === wanted));
      }
      case 'POST /__sim/reset':
        this.reset();
        return undefined;
    }
    if (method === 'DELETE' && path.startsWith('/__sim/faults/')) {
      if (!this.faults.remove(decodeURIComponent(path.slice('/__sim/faults/'.length)))) {
        throw new ControlError(404, 'NOT_FOUND', 'no such fault');
      }
      return undefined;
    }
    if (method === 'PATCH' && path.startsWith('/__sim/tenants/')) {
      return ok(
        this.patchTenant(decodeURIComponent(path.slice('/__sim/tenants/'.length)), objectBody()),
      );
    }
    throw new ControlError(404, 'NOT_FOUND', `no control route ${method} ${path}`);
  }
}

interface TrackedResponse extends ServerResponse {
  simTenantId: string | null;
  simReplayed: boolean;
  simEffect: boolean;
  simBusinessDate: string | null;
}

/** The business day a request names, for the journal (a malformed one is not a date). */
function businessDateOf(body: Record<string, unknown>): string | null {
  for (const key of ['target_date', 'start_date', 'date', 'week_start']) {
    const v = body[key];
    if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  }
  return null;
}

function journalFilter(query: URLSearchParams | null): JournalFilter {
  if (!query) return {};
  const filter: JournalFilter = {};
  for (const key of ['service', 'operation', 'tenant_id', 'idempotency_key'] as const) {
    const v = query.get(key);
    if (v !== null) filter[key] = v;
  }
  const status = query.get('status');
  if (status !== null) filter.status = Number(status);
  const since = query.get('since');
  if (since !== null) {
    const ms = Date.parse(since);
    if (Number.isNaN(ms))
      throw new ControlError(400, 'VALIDATION_ERROR', 'since must be an ISO instant', 'since');
    filter.sinceMs = ms;
  }
  const limit = query.get('limit');
  if (limit !== null) filter.limit = Number(limit);
  return filter;
}

function sendRaw(
  res: ServerResponse,
  status: number,
  body: string,
  headers?: Record<string, string>,
): void {
  // the client may have given up while we were "working"
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, {
    'Content-Type': JSON_TYPE,
    'Content-Length': Buffer.byteLength(body),
    'X-Simulator': SIMULATOR_NAME,
    ...headers,
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendRaw(res, status, JSON.stringify(body));
}

/** Starts the simulator; resolves once it listens. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const sim = new Simulator(options);
  const server = http.createServer((req, res) => sim.handle(req, res));
  // keep-alive longer than any client's idle timeout, so pooled connections are reused
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // a hung call hangs until the client gives up
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    tenants: () => sim.records.map((r) => r.tenant),
    activeTenants: () => sim.tenantsWithStatus('active').map((r) => r.tenant),
    calls: (filter) => sim.journal.query(filter),
    clearCalls: () => sim.journal.clear(),
    addFault: (spec) => sim.faults.add(parseFault(spec), new Date()),
    clearFaults: () => sim.faults.clear(),
    stats: () => sim.stats(),
    resetStats: () => sim.resetStats(),
    reset: () => sim.reset(),
    config: () => sim.config(),
    setConfig: (patch) => sim.setConfig(patch),
    anchor: () => new Date(sim.anchorMs),
    setAnchor: (anchor) => {
      sim.anchorMs = anchor.getTime();
    },
    purchaseOrders: (tenantId) => sim.purchaseOrders(tenantId),
  };
}
