import { Counter, Gauge, Histogram, Registry, register } from 'prom-client';
import { getOrCreateMetric } from 'src/common/metrics/get-or-create';
import { withTimeout } from 'src/common/time/deadline';

/** The specification's metric names (a contract: additions allowed, renames not). */
export const SPEC_METRICS = {
  executions: 'orchestrator_workflow_executions_total',
  duration: 'orchestrator_workflow_duration_seconds',
  successRate: 'orchestrator_workflow_success_rate_percentage',
  tenants: 'orchestrator_tenants_processed_total',
  leader: 'orchestrator_leader_instance',
} as const;

export const EXTRA_METRICS = {
  stepDuration: 'orchestrator_step_duration_seconds',
  inFlight: 'orchestrator_executions_in_flight',
  skippedSlots: 'orchestrator_skipped_slots',
  costEur: 'orchestrator_cost_eur_total',
  alertsOpen: 'orchestrator_alerts_open',
  deadlineMisses: 'orchestrator_deadline_misses_total',
} as const;

/** What the DB-backed series read at scrape time (MetricsRepository.scrapeSnapshot). */
export interface ScrapeSnapshot {
  rates: { workflow_name: string; total: number; ok: number }[];
  inFlight: { workflow_name: string; status: string; n: number }[];
  skipped: { workflow_name: string; kind: string; n: number }[];
  openAlerts?: { kind: string; n: number }[];
}

const SNAPSHOT_TIMEOUT_MS = 2000;
const SNAPSHOT_MAX_AGE_MS = 5000;

/**
 * The workflow metrics on the registry /metrics serves (tests pass their own).
 *
 * Two kinds of series: event counters fed by the run and step listeners of the instance
 * that closed the run or ran the step (sum them across replicas), and state gauges read
 * from the database at scrape time (success rate, executions in flight, skipped slots,
 * open alerts), which every replica reports alike (use max(), not sum()).
 */
export class WorkflowMetrics {
  readonly executions: Counter<'workflow_name' | 'status'>;
  readonly duration: Histogram<'workflow_name'>;
  readonly tenants: Counter<'workflow_name' | 'status'>;
  readonly stepDuration: Histogram<'workflow_name' | 'operation' | 'status'>;
  readonly costEur: Counter<'workflow_name'>;
  readonly deadlineMisses: Counter<'workflow_name' | 'tier'>;
  private snapshotSource: (() => Promise<ScrapeSnapshot>) | null = null;
  private snapshot: Promise<ScrapeSnapshot | null> | null = null;
  private snapshotAt = 0;
  private lastSnapshot: ScrapeSnapshot | null = null;

  constructor(registry: Registry = register) {
    this.executions = getOrCreateMetric(
      registry,
      SPEC_METRICS.executions,
      () =>
        new Counter({
          name: SPEC_METRICS.executions,
          help: 'Total workflow executions (runs) by final status',
          labelNames: ['workflow_name', 'status'],
          registers: [registry],
        }),
    );
    this.duration = getOrCreateMetric(
      registry,
      SPEC_METRICS.duration,
      () =>
        new Histogram({
          name: SPEC_METRICS.duration,
          help: 'Workflow execution duration',
          labelNames: ['workflow_name'],
          buckets: [60, 300, 600, 1200, 1800, 3600],
          registers: [registry],
        }),
    );
    this.tenants = getOrCreateMetric(
      registry,
      SPEC_METRICS.tenants,
      () =>
        new Counter({
          name: SPEC_METRICS.tenants,
          help: 'Total tenants processed, by outcome of their execution',
          labelNames: ['workflow_name', 'status'],
          registers: [registry],
        }),
    );
    this.stepDuration = getOrCreateMetric(
      registry,
      EXTRA_METRICS.stepDuration,
      () =>
        new Histogram({
          name: EXTRA_METRICS.stepDuration,
          help: 'Duration of one step attempt (the downstream operation) by outcome',
          labelNames: ['workflow_name', 'operation', 'status'],
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 300],
          registers: [registry],
        }),
    );
    this.costEur = getOrCreateMetric(
      registry,
      EXTRA_METRICS.costEur,
      () =>
        new Counter({
          name: EXTRA_METRICS.costEur,
          help: 'Cost attributed to tenant executions (downstream calls and orchestrator CPU time at COST_PER_* prices)',
          labelNames: ['workflow_name'],
          registers: [registry],
        }),
    );
    this.deadlineMisses = getOrCreateMetric(
      registry,
      EXTRA_METRICS.deadlineMisses,
      () =>
        new Counter({
          name: EXTRA_METRICS.deadlineMisses,
          help: 'Tenants not done by their deadline (WORKFLOW_DEADLINES), counted once per run',
          labelNames: ['workflow_name', 'tier'],
          registers: [registry],
        }),
    );
    const read = () => this.readSnapshot();
    getOrCreateMetric(
      registry,
      SPEC_METRICS.successRate,
      () =>
        new Gauge({
          name: SPEC_METRICS.successRate,
          help: 'Workflow success rate: completed runs among runs finished in the last 7 days',
          labelNames: ['workflow_name'],
          registers: [registry],
          async collect() {
            const s = await read();
            if (!s) return;
            this.reset();
            for (const r of s.rates) {
              if (r.total > 0)
                this.labels(r.workflow_name).set(Math.round((10000 * r.ok) / r.total) / 100);
            }
          },
        }),
    );
    getOrCreateMetric(
      registry,
      EXTRA_METRICS.inFlight,
      () =>
        new Gauge({
          name: EXTRA_METRICS.inFlight,
          help: 'Tenant executions running (state="running") or waiting to be claimed (state="pending"), all instances',
          labelNames: ['workflow_name', 'state'],
          registers: [registry],
          async collect() {
            const s = await read();
            if (!s) return;
            this.reset();
            for (const r of s.inFlight) this.labels(r.workflow_name, r.status).set(r.n);
          },
        }),
    );
    getOrCreateMetric(
      registry,
      EXTRA_METRICS.skippedSlots,
      () =>
        new Gauge({
          name: EXTRA_METRICS.skippedSlots,
          help: 'Slots recorded as not run, by kind: missed (no leader in time), overlap, calendar (holiday/weekend policy); grows like a counter',
          labelNames: ['workflow_name', 'kind'],
          registers: [registry],
          async collect() {
            const s = await read();
            if (!s) return;
            this.reset();
            for (const r of s.skipped) this.labels(r.workflow_name, r.kind).set(r.n);
          },
        }),
    );
    getOrCreateMetric(
      registry,
      EXTRA_METRICS.alertsOpen,
      () =>
        new Gauge({
          name: EXTRA_METRICS.alertsOpen,
          help: 'Open alerts on the orchestrator itself, by kind',
          labelNames: ['kind'],
          registers: [registry],
          async collect() {
            const s = await read();
            if (!s?.openAlerts) return;
            this.reset();
            for (const r of s.openAlerts) this.labels(r.kind).set(r.n);
          },
        }),
    );
  }

  /** Where the scrape-time gauges read from (the metrics service registers itself). */
  observe(source: () => Promise<ScrapeSnapshot>): void {
    this.snapshotSource = source;
  }

  /** One database round per scrape (all gauges share it), bounded in time. */
  private readSnapshot(): Promise<ScrapeSnapshot | null> {
    const source = this.snapshotSource;
    if (!source) return Promise.resolve(null);
    if (this.snapshot && Date.now() - this.snapshotAt < SNAPSHOT_MAX_AGE_MS) return this.snapshot;
    this.snapshotAt = Date.now();
    this.snapshot = withTimeout(source(), SNAPSHOT_TIMEOUT_MS, 'metrics snapshot query')
      .then((s) => (this.lastSnapshot = s))
      // database unreachable: the last known figures; readiness reports the outage
      .catch(() => this.lastSnapshot);
    return this.snapshot;
  }
}
