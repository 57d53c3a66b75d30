import { Counter, Gauge, Registry, register } from 'prom-client';
import { OutboxBacklog } from './outbox.repository';
import { getOrCreateMetric } from 'src/common/metrics/get-or-create';
import { withTimeout } from 'src/common/time/deadline';

const BACKLOG_QUERY_TIMEOUT_MS = 2000;

type Labels = 'exchange' | 'routing_key';

/**
 * The outbox's Prometheus metrics. Built on the registry /metrics serves (the default);
 * tests pass their own so several relays can live in one process.
 */
export class OutboxMetrics {
  readonly published: Counter<Labels>;
  readonly publishFailures: Counter<Labels>;
  readonly unroutable: Counter<Labels>;
  private backlogSource: (() => Promise<OutboxBacklog>) | null = null;
  private lastBacklog: OutboxBacklog = { unsent: 0, oldestAgeSeconds: 0 };
  private backlogInFlight: Promise<OutboxBacklog> | null = null;

  constructor(registry: Registry = register) {
    this.published = getOrCreateMetric(
      registry,
      'orchestrator_outbox_published_total',
      () =>
        new Counter({
          name: 'orchestrator_outbox_published_total',
          help: 'Outbox events published to RabbitMQ and confirmed by the broker',
          labelNames: ['exchange', 'routing_key'],
          registers: [registry],
        }),
    );
    this.publishFailures = getOrCreateMetric(
      registry,
      'orchestrator_outbox_publish_failures_total',
      () =>
        new Counter({
          name: 'orchestrator_outbox_publish_failures_total',
          help: 'Outbox publish attempts that failed (the event stays in the outbox and is retried)',
          labelNames: ['exchange', 'routing_key'],
          registers: [registry],
        }),
    );
    this.unroutable = getOrCreateMetric(
      registry,
      'orchestrator_outbox_unroutable_total',
      () =>
        new Counter({
          name: 'orchestrator_outbox_unroutable_total',
          help: 'Outbox publishes the broker returned because no queue is bound for the routing key (the event stays in the outbox and is retried)',
          labelNames: ['exchange', 'routing_key'],
          registers: [registry],
        }),
    );
    // read at scrape time, so the figure is right on every replica, relaying or not
    const backlog = () => this.refreshBacklog();
    getOrCreateMetric(
      registry,
      'orchestrator_outbox_backlog',
      () =>
        new Gauge({
          name: 'orchestrator_outbox_backlog',
          help: 'Events in the outbox not yet confirmed by RabbitMQ',
          registers: [registry],
          async collect() {
            this.set((await backlog()).unsent);
          },
        }),
    );
    getOrCreateMetric(
      registry,
      'orchestrator_outbox_oldest_unsent_age_seconds',
      () =>
        new Gauge({
          name: 'orchestrator_outbox_oldest_unsent_age_seconds',
          help: 'Age of the oldest event not yet confirmed by RabbitMQ (0 when none)',
          registers: [registry],
          async collect() {
            this.set((await backlog()).oldestAgeSeconds);
          },
        }),
    );
  }

  /** Where the backlog gauges read from (the outbox facade registers itself). */
  observeBacklog(source: () => Promise<OutboxBacklog>): void {
    this.backlogSource = source;
  }

  /** One query serves both gauges of a scrape. */
  private refreshBacklog(): Promise<OutboxBacklog> {
    const source = this.backlogSource;
    if (!source) return Promise.resolve(this.lastBacklog);
    this.backlogInFlight ??= withTimeout(source(), BACKLOG_QUERY_TIMEOUT_MS, 'outbox backlog query')
      .then((value) => (this.lastBacklog = value))
      // database unreachable: keep the last known figure; readiness reports the outage
      .catch(() => this.lastBacklog)
      .finally(() => (this.backlogInFlight = null));
    return this.backlogInFlight;
  }
}
