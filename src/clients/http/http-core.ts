import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  CircuitState,
  SamplingBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import { Dispatcher, Pool } from 'undici';
import { LiveList, LiveNode } from 'src/common/collections/live-list';
import { withTimeout } from 'src/common/time/deadline';
import { BackoffSettings, DEFAULT_BACKOFF, backoffDelayMs, parseRetryAfterMs } from './backoff';
import { BreakerLogSink, logBreakerTransitions } from './breaker-log';
import { AttemptOutcome, BreakerStateValue, ClientMetrics } from './client-metrics';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { UpstreamError, UpstreamErrorCode, excerpt, isRetryableStatus } from './upstream.error';

export interface BreakerSettings {
  /** share of failed calls (0-1) in the sampling window that opens the circuit */
  failureRatio: number;
  samplingMs: number;
  /** fewer calls than this in the window never open it (a quiet service is not "down") */
  minimumCalls: number;
  /** how long the circuit stays open before one probe call may test the service */
  halfOpenAfterMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = {
  failureRatio: 0.5,
  samplingMs: 10_000,
  minimumCalls: 10,
  halfOpenAfterMs: 10_000,
};

export interface ServiceEndpoint {
  name: string;
  baseUrl: string;
  /** calls in flight to this service at once; the rest wait their turn (default settings.maxConcurrency) */
  maxConcurrency?: number;
  breaker?: Partial<BreakerSettings>;
}

export interface HttpCoreSettings {
  /** sent as `Authorization: Bearer <token>`; never logged, never put in an error */
  token: string;
  services: ServiceEndpoint[];
  maxConcurrency?: number;
  maxAttempts?: number;
  /** per-attempt timeout when the call does not give one */
  timeoutMs?: number;
  backoff?: Partial<BackoffSettings>;
  breaker?: Partial<BreakerSettings>;
  /** a Retry-After longer than this is not waited out: the call fails (retryable) instead */
  maxRetryAfterMs?: number;
  /** null: no metrics (benchmarks of the bare core) */
  metrics?: ClientMetrics | null;
  random?: () => number;
  /** where breaker transitions are logged (default: Nest's logger, context CircuitBreaker) */
  breakerLog?: BreakerLogSink;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface CallSpec {
  service: string;
  /** metrics label and error context, e.g. `forecasting.generate` */
  operation: string;
  method: HttpMethod;
  path: string;
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  /** per-attempt timeout */
  timeoutMs?: number;
  /** overall budget for every attempt, wait and backoff; default: enough for maxAttempts */
  deadlineMs?: number;
  maxAttempts?: number;
  signal?: AbortSignal;
  /** the same on every attempt, so the service can do the work once */
  idempotencyKey?: string;
  /** X-Request-Id; one per logical call (all attempts), generated when absent */
  requestId?: string;
  /** X-Correlation-Id: the orchestration run the call belongs to */
  correlationId?: string;
}

interface ServiceRuntime {
  name: string;
  basePath: string;
  pool: Pool;
  limiter: ConcurrencyLimiter;
  breaker: CircuitBreakerPolicy;
  halfOpenAfterMs: number;
  openedAt: number;
}

/** What call() works out once and every attempt of the call reuses. */
interface PreparedCall {
  svc: ServiceRuntime;
  spec: CallSpec;
  /** base path + spec.path + query string */
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** per-attempt timeout (an attempt gets less when the deadline is nearer) */
  timeoutMs: number;
  /** monotonic (performance.now()) */
  deadlineAt: number;
  requestId: string;
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);
const TIMEOUT_ERROR_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const PRECISE_TIMEOUT_BELOW_MS = 2000;
/** Largest response body read into memory; a service answering more is broken. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

class TimedOut extends Error {
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}
class CallerAborted extends Error {
  readonly code = 'ABORTED';
}
class BodyTooLarge extends Error {
  readonly code = 'BODY_TOO_LARGE';
}

interface RawResponse {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

/**
 * Collects one response through undici's dispatch handler API. Cheaper than
 * `pool.request()` (no Readable body stream) and, above all, it can be aborted without
 * an AbortSignal listener per request: undici's per-request signal listener cost ~10 µs
 * a call in the benchmark, on a signal every call of a run shares.
 */
class ResponseCollector implements Dispatcher.DispatchHandler {
  /** its place among its signal's calls in flight, null when not in one */
  watching: LiveNode<ResponseCollector> | null = null;
  private controller: Dispatcher.DispatchController | null = null;
  private pendingAbort: Error | null = null;
  private status = 0;
  private retryAfter: string | undefined;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private settled = false;

  constructor(
    private readonly resolve: (response: RawResponse) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  abort(reason: Error): void {
    if (this.settled) return;
    if (this.controller) this.controller.abort(reason);
    else this.pendingAbort = reason; // still queued in the pool: abort when it starts
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.status = statusCode;
    const retryAfter = headers['retry-after'];
    this.retryAfter = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > MAX_BODY_BYTES) {
      controller.abort(new BodyTooLarge(`response body above ${MAX_BODY_BYTES} bytes`));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    const text =
      this.chunks.length === 1
        ? this.chunks[0].toString('utf8')
        : Buffer.concat(this.chunks).toString('utf8');
    this.resolve({ status: this.status, retryAfter: this.retryAfter, text });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }
}

/** Failures that say the service is unwell (and so count towards opening its circuit). */
const isServiceFailure = (err: unknown): boolean =>
  err instanceof UpstreamError &&
  (err.code === UpstreamErrorCode.TIMEOUT ||
    (err.code === UpstreamErrorCode.CONNECTION_ERROR && err.retryable) ||
    (err.code === UpstreamErrorCode.HTTP_ERROR && (err.status! >= 500 || err.status === 408)));

/**
 * The careful way to call a downstream service (docs/architecture.md guarantee 6), shared by
 * every client:
 *
 * - undici Pool per service with keep-alive (global fetch costs ~5x the CPU per call);
 * - per-attempt timeout (undici headers/body timeouts: no extra timer per call) and an
 *   overall deadline covering queueing, attempts and backoff; the caller's AbortSignal
 *   cancels the in-flight request;
 * - retries only of retryable failures (connection errors, timeouts, 408/429/5xx), full
 *   jitter exponential backoff with a cap, Retry-After honoured, no retry that cannot fit
 *   in the deadline;
 * - a cockatiel circuit breaker per service (sampling: opens on a failure ratio, fails fast
 *   while open, one probe when half-open) and a FIFO concurrency limit per service;
 * - Authorization, X-Request-Id, X-Correlation-Id and a stable Idempotency-Key.
 *
 * Retries are a loop here rather than cockatiel's RetryPolicy: the attempt count is per
 * call, the delay may come from the failed response (Retry-After), and a retry that cannot
 * finish before the deadline must not start. Those three need the call's own state.
 */
export class HttpCore {
  private readonly services = new Map<string, ServiceRuntime>();
  private readonly metrics: ClientMetrics | null;
  private readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private readonly backoff: BackoffSettings;
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;
  private readonly authorization: string;
  private closed = false;
  /** the calls in flight under each caller signal (a LiveList: see why there) */
  private readonly watched = new WeakMap<AbortSignal, LiveList<ResponseCollector>>();

  constructor(private readonly settings: HttpCoreSettings) {
    this.metrics = settings.metrics === undefined ? new ClientMetrics() : settings.metrics;
    this.maxAttempts = settings.maxAttempts ?? 3;
    this.timeoutMs = settings.timeoutMs ?? 30_000;
    this.backoff = { ...DEFAULT_BACKOFF, ...settings.backoff };
    this.maxRetryAfterMs = settings.maxRetryAfterMs ?? 60_000;
    this.random = settings.random ?? Math.random;
    this.authorization = `Bearer ${settings.token}`;
    for (const endpoint of settings.services) this.addService(endpoint);
  }

  private addService(endpoint: ServiceEndpoint): void {
    const url = new URL(endpoint.baseUrl);
    const limit = endpoint.maxConcurrency ?? this.settings.maxConcurrency ?? 100;
    const b = { ...DEFAULT_BREAKER, ...this.settings.breaker, ...endpoint.breaker };
    const breaker = circuitBreaker(handleWhen(isServiceFailure), {
      halfOpenAfter: b.halfOpenAfterMs,
      breaker: new SamplingBreaker({
        threshold: b.failureRatio,
        duration: b.samplingMs,
        minimumRps: (b.minimumCalls * 1000) / b.samplingMs,
      }),
    });
    const runtime: ServiceRuntime = {
      name: endpoint.name,
      basePath: url.pathname.replace(/\/+$/, ''),
      // as many sockets as calls allowed in flight: the limiter, not undici, queues
      pool: new Pool(url.origin, {
        connections: limit,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 60_000,
        connect: { timeout: 10_000 },
      }),
      limiter: new ConcurrencyLimiter(limit),
      breaker,
      halfOpenAfterMs: b.halfOpenAfterMs,
      openedAt: 0,
    };
    breaker.onStateChange((state) => {
      if (state === CircuitState.Open) runtime.openedAt = performance.now();
      this.metrics?.setBreakerState(endpoint.name, toGauge(state));
    });
    logBreakerTransitions(breaker, endpoint.name, b.halfOpenAfterMs, this.settings.breakerLog);
    this.metrics?.setBreakerState(endpoint.name, BreakerStateValue.CLOSED);
    this.metrics?.trackInFlight(endpoint.name, () => runtime.limiter.inUse);
    this.services.set(endpoint.name, runtime);
  }

  /** Calls the service and returns its JSON body; throws only UpstreamError for call failures. */
  async call<T = unknown>(spec: CallSpec): Promise<T> {
    const svc = this.runtime(spec.service);
    if (this.closed) throw new Error('HttpCore: closed');
    const maxAttempts = Math.max(1, spec.maxAttempts ?? this.maxAttempts);
    const timeoutMs = spec.timeoutMs ?? this.timeoutMs;
    const deadlineMs =
      spec.deadlineMs ?? timeoutMs * maxAttempts + this.backoff.maxDelayMs * (maxAttempts - 1);
    // monotonic: a wall-clock jump must not stretch or cut a deadline
    const deadlineAt = performance.now() + deadlineMs;
    const requestId = spec.requestId ?? randomUUID();
    const headers: Record<string, string> = {
      authorization: this.authorization,
      'x-request-id': requestId,
      accept: 'application/json',
    };
    if (spec.idempotencyKey !== undefined) headers['idempotency-key'] = spec.idempotencyKey;
    if (spec.correlationId !== undefined) headers['x-correlation-id'] = spec.correlationId;
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    const call: PreparedCall = {
      svc,
      spec,
      path: svc.basePath + spec.path + queryString(spec.query),
      headers,
      body,
      timeoutMs,
      deadlineAt,
      requestId,
    };

    for (let attempt = 1; ; attempt++) {
      let failure: UpstreamError;
      try {
        return await this.attempt<T>(call);
      } catch (err) {
        failure = err as UpstreamError;
      }
      if (
        !failure.retryable ||
        attempt >= maxAttempts ||
        failure.code === UpstreamErrorCode.CIRCUIT_OPEN ||
        failure.code === UpstreamErrorCode.DEADLINE_EXCEEDED
      ) {
        throw attempt > 1 ? failure.withAttempts(attempt) : failure;
      }
      const retryAfter = failure.retryAfterMs;
      if (retryAfter !== undefined && retryAfter > this.maxRetryAfterMs) {
        throw failure.withAttempts(attempt);
      }
      const delay = retryAfter ?? backoffDelayMs(attempt, this.backoff, this.random);
      // a retry that cannot get an answer before the deadline only adds load
      if (performance.now() + delay >= deadlineAt) throw failure.withAttempts(attempt);
      if (delay > 0) {
        try {
          await sleep(delay, undefined, { signal: spec.signal });
        } catch {
          throw this.aborted(call, attempt);
        }
      }
      this.metrics?.countRetry(spec.service, spec.operation);
    }
  }

  private async attempt<T>(call: PreparedCall): Promise<T> {
    const { svc, spec, deadlineAt } = call;
    if (spec.signal?.aborted) throw this.aborted(call);
    if (this.isRefusing(svc)) throw this.circuitOpen(call);
    const left = deadlineAt - performance.now();
    if (left <= 0) throw this.deadline(call, 'no time left');
    await svc.limiter.acquire(spec.signal, left, (why) =>
      why === 'aborted'
        ? this.aborted(call)
        : this.deadline(
            call,
            `waited ${Math.round(left)} ms for one of ${svc.limiter.limit} slots`,
          ),
    );
    try {
      // the circuit may have opened while this call queued
      if (this.isRefusing(svc)) throw this.circuitOpen(call);
      const attemptTimeout = Math.max(1, Math.min(call.timeoutMs, deadlineAt - performance.now()));
      return await svc.breaker.execute(() => this.send<T>(call, attemptTimeout));
    } catch (err) {
      if (err instanceof BrokenCircuitError) throw this.circuitOpen(call);
      throw err;
    } finally {
      svc.limiter.release();
    }
  }

  /**
   * Open (and not yet due for a probe) or half-open (a probe is out): refuse at once.
   * cockatiel itself would park half-open callers until the probe ends, which for a
   * 300 s forecasting timeout means minutes of every tenant waiting.
   */
  private isRefusing(svc: ServiceRuntime): boolean {
    const state = svc.breaker.state;
    if (state === CircuitState.Closed) return false;
    if (state === CircuitState.HalfOpen || state === CircuitState.Isolated) return true;
    return performance.now() - svc.openedAt < svc.halfOpenAfterMs;
  }

  /** One attempt over the wire; `timeoutMs` is this attempt's. */
  private async send<T>(call: PreparedCall, timeoutMs: number): Promise<T> {
    const { spec, requestId } = call;
    const started = performance.now();
    let res: RawResponse;
    try {
      res = await this.dispatch(call, timeoutMs);
    } catch (err) {
      throw this.transportFailure(call, err, started, timeoutMs);
    }
    const { status, text } = res;
    const seconds = (performance.now() - started) / 1000;
    if (status >= 200 && status < 300) {
      let parsed: T;
      try {
        parsed = text === '' ? ({} as T) : (JSON.parse(text) as T);
      } catch {
        this.metrics?.observeAttempt(spec.service, spec.operation, 'invalid_response', seconds);
        throw new UpstreamError({
          service: spec.service,
          operation: spec.operation,
          code: UpstreamErrorCode.INVALID_RESPONSE,
          retryable: false,
          status,
          bodyExcerpt: excerpt(text, this.settings.token),
          requestId,
        });
      }
      this.metrics?.observeAttempt(spec.service, spec.operation, 'success', seconds);
      return parsed;
    }
    const outcome: AttemptOutcome =
      status === 429
        ? 'rate_limited'
        : status >= 500 || status === 408
          ? 'server_error'
          : 'client_error';
    this.metrics?.observeAttempt(spec.service, spec.operation, outcome, seconds);
    throw new UpstreamError({
      service: spec.service,
      operation: spec.operation,
      code: UpstreamErrorCode.HTTP_ERROR,
      retryable: isRetryableStatus(status),
      status,
      bodyExcerpt: excerpt(text, this.settings.token),
      requestId,
      retryAfterMs: parseRetryAfterMs(res.retryAfter, Date.now()),
    });
  }

  /**
   * One HTTP exchange. Long timeouts use undici's header/body timeouts (its coarse
   * one-second timer wheel, no extra timer per call); short ones get a precise timer.
   */
  private dispatch(call: PreparedCall, timeoutMs: number): Promise<RawResponse> {
    return new Promise<RawResponse>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const signal = call.spec.signal;
      const done = () => {
        if (timer) clearTimeout(timer);
        if (signal) this.unwatch(collector);
      };
      const collector = new ResponseCollector(
        (r) => {
          done();
          resolve(r);
        },
        (e) => {
          done();
          reject(e);
        },
      );
      const precise = timeoutMs < PRECISE_TIMEOUT_BELOW_MS;
      if (precise) {
        timer = setTimeout(() => collector.abort(new TimedOut('attempt timed out')), timeoutMs);
      }
      if (signal) this.watch(signal, collector);
      call.svc.pool.dispatch(
        {
          method: call.spec.method,
          path: call.path,
          headers: call.headers,
          body: call.body,
          headersTimeout: precise ? 0 : Math.ceil(timeoutMs),
          bodyTimeout: precise ? 0 : Math.ceil(timeoutMs),
        },
        collector,
      );
    });
  }

  /**
   * One abort listener per caller signal, however many calls share it; each call joins
   * and leaves its list in O(1), where EventTarget listener removal is not.
   */
  private watch(signal: AbortSignal, collector: ResponseCollector): void {
    if (signal.aborted) {
      collector.abort(new CallerAborted('caller aborted'));
      return;
    }
    let inFlight = this.watched.get(signal);
    if (!inFlight) {
      const list = new LiveList<ResponseCollector>();
      inFlight = list;
      this.watched.set(signal, list);
      signal.addEventListener(
        'abort',
        () => {
          for (const c of list.drain()) c.abort(new CallerAborted('caller aborted'));
        },
        { once: true },
      );
    }
    collector.watching = inFlight.add(collector);
  }

  private unwatch(collector: ResponseCollector): void {
    const node = collector.watching;
    if (!node) return;
    node.list?.remove(node);
    collector.watching = null;
  }

  private transportFailure(
    call: PreparedCall,
    err: unknown,
    started: number,
    timeoutMs: number,
  ): UpstreamError {
    const { spec, requestId } = call;
    const seconds = (performance.now() - started) / 1000;
    if (spec.signal?.aborted) {
      this.metrics?.observeAttempt(spec.service, spec.operation, 'aborted', seconds);
      return this.aborted(call);
    }
    const code = (err as { code?: string }).code ?? '';
    if (TIMEOUT_ERROR_CODES.has(code)) {
      this.metrics?.observeAttempt(spec.service, spec.operation, 'timeout', seconds);
      return new UpstreamError({
        service: spec.service,
        operation: spec.operation,
        code: UpstreamErrorCode.TIMEOUT,
        retryable: true,
        requestId,
        detail: `no answer within ${Math.round(timeoutMs)} ms`,
      });
    }
    this.metrics?.observeAttempt(spec.service, spec.operation, 'connection_error', seconds);
    return new UpstreamError({
      service: spec.service,
      operation: spec.operation,
      code: UpstreamErrorCode.CONNECTION_ERROR,
      // an unknown error is more likely our bug than a flaky network: do not hammer
      retryable: NETWORK_ERROR_CODES.has(code),
      requestId,
      detail: code || (err as Error).message,
    });
  }

  private aborted({ spec, requestId }: PreparedCall, attempts?: number): UpstreamError {
    return new UpstreamError({
      service: spec.service,
      operation: spec.operation,
      code: UpstreamErrorCode.ABORTED,
      retryable: false,
      requestId,
      attempts,
    });
  }

  private circuitOpen({ spec, requestId }: PreparedCall): UpstreamError {
    this.metrics?.observeAttempt(spec.service, spec.operation, 'circuit_open', null);
    return new UpstreamError({
      service: spec.service,
      operation: spec.operation,
      code: UpstreamErrorCode.CIRCUIT_OPEN,
      // the runner may try again later; this call does not, it fails fast
      retryable: true,
      requestId,
    });
  }

  private deadline({ spec, requestId }: PreparedCall, detail: string): UpstreamError {
    return new UpstreamError({
      service: spec.service,
      operation: spec.operation,
      code: UpstreamErrorCode.DEADLINE_EXCEEDED,
      retryable: true,
      requestId,
      detail,
    });
  }

  breakerState(service: string): 'closed' | 'open' | 'half-open' | 'isolated' {
    const state = this.runtime(service).breaker.state;
    return ({ 0: 'closed', 1: 'open', 2: 'half-open', 3: 'isolated' } as const)[state];
  }

  /** in use now, waiting, and the most ever in use at once */
  concurrency(service: string): {
    inUse: number;
    waiting: number;
    maxInUse: number;
    limit: number;
  } {
    const { limiter } = this.runtime(service);
    return {
      inUse: limiter.inUse,
      waiting: limiter.waiting,
      maxInUse: limiter.maxActive,
      limit: limiter.limit,
    };
  }

  serviceNames(): string[] {
    return [...this.services.keys()];
  }

  private runtime(service: string): ServiceRuntime {
    const svc = this.services.get(service);
    if (!svc) throw new Error(`HttpCore: no service named ${service}`);
    return svc;
  }

  /**
   * Closes every pool: in-flight requests get `graceMs` to finish, then their sockets are
   * destroyed (a 300 s forecasting call must not hold a shutdown for 300 s).
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pools = [...this.services.values()].map((s) => s.pool);
    const drained = await withTimeout(
      Promise.all(pools.map((p) => p.close())),
      graceMs,
      'HTTP pools close',
    ).then(
      () => true,
      () => false,
    );
    if (!drained) await Promise.all(pools.map((p) => p.destroy()));
  }
}

function toGauge(state: CircuitState): BreakerStateValue {
  if (state === CircuitState.Closed) return BreakerStateValue.CLOSED;
  if (state === CircuitState.HalfOpen) return BreakerStateValue.HALF_OPEN;
  return BreakerStateValue.OPEN;
}

function queryString(query: CallSpec['query']): string {
  if (!query) return '';
  let out = '';
  for (const key of Object.keys(query)) {
    const value = query[key];
    if (value === undefined || value === null) continue;
    out += `${out === '' ? '?' : '&'}${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`;
  }
  return out;
}
