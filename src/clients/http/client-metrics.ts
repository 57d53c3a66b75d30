import { Counter, Gauge, Histogram, Registry, register } from 'prom-client';
import { getOrCreateMetric } from 'src/common/metrics/get-or-create';

/** How one attempt (or a call refused before any attempt) ended: the `outcome` label. */
export type AttemptOutcome =
  | 'success'
  | 'client_error'
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'connection_error'
  | 'aborted'
  | 'circuit_open'
  | 'invalid_response';

export enum BreakerStateValue {
  CLOSED = 0,
  HALF_OPEN = 1,
  OPEN = 2,
}

export const METRIC_NAMES = {
  duration: 'orchestrator_downstream_request_duration_seconds',
  requests: 'orchestrator_downstream_requests_total',
  retries: 'orchestrator_downstream_retries_total',
  breaker: 'orchestrator_downstream_circuit_state',
  inFlight: 'orchestrator_downstream_in_flight',
} as const;

type Labels3 = 'service' | 'operation' | 'outcome';

/**
 * The HTTP core's Prometheus metrics, on the registry /metrics serves unless a test passes
 * its own. Label children are cached: prom-client hashes the label object on every
 * observe(), which showed up in the per-call profile.
 */
export class ClientMetrics {
  private readonly duration: Histogram<Labels3>;
  private readonly requests: Counter<Labels3>;
  private readonly retries: Counter<'service' | 'operation'>;
  private readonly breaker: Gauge<'service'>;
  private readonly inFlight: Gauge<'service'>;
  private readonly durationChildren = new Map<string, { observe(v: number): void }>();
  private readonly requestChildren = new Map<string, { inc(): void }>();

  constructor(readonly registry: Registry = register) {
    this.duration = getOrCreateMetric(
      registry,
      METRIC_NAMES.duration,
      () =>
        new Histogram({
          name: METRIC_NAMES.duration,
          help: 'Downstream HTTP attempts by service, operation and outcome (seconds)',
          labelNames: ['service', 'operation', 'outcome'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 300],
          registers: [registry],
        }),
    );
    this.requests = getOrCreateMetric(
      registry,
      METRIC_NAMES.requests,
      () =>
        new Counter({
          name: METRIC_NAMES.requests,
          help: 'Downstream HTTP attempts by service, operation and outcome (circuit_open: refused without sending)',
          labelNames: ['service', 'operation', 'outcome'],
          registers: [registry],
        }),
    );
    this.retries = getOrCreateMetric(
      registry,
      METRIC_NAMES.retries,
      () =>
        new Counter({
          name: METRIC_NAMES.retries,
          help: 'Downstream attempts that were retries of a failed attempt',
          labelNames: ['service', 'operation'],
          registers: [registry],
        }),
    );
    this.breaker = getOrCreateMetric(
      registry,
      METRIC_NAMES.breaker,
      () =>
        new Gauge({
          name: METRIC_NAMES.breaker,
          help: 'Circuit breaker state per downstream service: 0 closed, 1 half-open, 2 open',
          labelNames: ['service'],
          registers: [registry],
        }),
    );
    const readers = readersOf(registry);
    this.inFlight = getOrCreateMetric(
      registry,
      METRIC_NAMES.inFlight,
      () =>
        new Gauge({
          name: METRIC_NAMES.inFlight,
          help: 'Downstream HTTP requests in flight per service',
          labelNames: ['service'],
          registers: [registry],
          // read from the limiters at scrape time rather than updated twice per call
          collect() {
            for (const [service, read] of readers) this.labels(service).set(read());
          },
        }),
    );
  }

  observeAttempt(
    service: string,
    operation: string,
    outcome: AttemptOutcome,
    seconds: number | null,
  ): void {
    const key = `${service}\u0000${operation}\u0000${outcome}`;
    let req = this.requestChildren.get(key);
    if (!req) {
      req = this.requests.labels(service, operation, outcome);
      this.requestChildren.set(key, req);
    }
    req.inc();
    if (seconds === null) return;
    let dur = this.durationChildren.get(key);
    if (!dur) {
      dur = this.duration.labels(service, operation, outcome);
      this.durationChildren.set(key, dur);
    }
    dur.observe(seconds);
  }

  countRetry(service: string, operation: string): void {
    this.retries.labels(service, operation).inc();
  }

  setBreakerState(service: string, state: BreakerStateValue): void {
    this.breaker.labels(service).set(state);
  }

  /** the in-flight gauge reads `read()` for this service at scrape time */
  trackInFlight(service: string, read: () => number): void {
    readersOf(this.registry).set(service, read);
  }
}

const inFlightReaders = new WeakMap<Registry, Map<string, () => number>>();
function readersOf(registry: Registry): Map<string, () => number> {
  let readers = inFlightReaders.get(registry);
  if (!readers) {
    readers = new Map();
    inFlightReaders.set(registry, readers);
  }
  return readers;
}
