import { Counter, Histogram, Registry, register } from 'prom-client';
import { DELIVERY_ALERT_TYPES, DeliveryAlertType } from './delivery-rules';
import { getOrCreateMetric } from 'src/common/metrics/get-or-create';

/**
 * The specification's metric names ("Monitoring & Observability"). Built on the registry
 * /metrics serves (the default); tests pass their own.
 */
export class DeliveryTrackingMetrics {
  readonly jobDuration: Histogram<'status'>;
  readonly alertsGenerated: Counter<'type'>;
  readonly deliveriesChecked: Counter;
  readonly errors: Counter<'reason'>;

  constructor(registry: Registry = register) {
    this.jobDuration = getOrCreateMetric(
      registry,
      'delivery_tracking_job_duration_seconds',
      () =>
        new Histogram({
          name: 'delivery_tracking_job_duration_seconds',
          help: 'Duration of a delivery tracking run over every active tenant',
          labelNames: ['status'],
          // the specification expects seconds; above 300 s ops get a warning
          buckets: [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800],
          registers: [registry],
        }),
    );
    this.alertsGenerated = getOrCreateMetric(
      registry,
      'delivery_alerts_generated_total',
      () =>
        new Counter({
          name: 'delivery_alerts_generated_total',
          help: 'Delivery alerts recorded and handed to the outbox, by alert type',
          labelNames: ['type'],
          registers: [registry],
        }),
    );
    this.deliveriesChecked = getOrCreateMetric(
      registry,
      'deliveries_checked_total',
      () =>
        new Counter({
          name: 'deliveries_checked_total',
          help: 'Purchase orders examined by delivery tracking',
          registers: [registry],
        }),
    );
    this.errors = getOrCreateMetric(
      registry,
      'delivery_tracking_errors_total',
      () =>
        new Counter({
          name: 'delivery_tracking_errors_total',
          help: 'Delivery tracking failures: a tenant that could not be checked, or a failed run',
          labelNames: ['reason'],
          registers: [registry],
        }),
    );
    // zero series from the start, so rate() and absence alerts work before the first alert
    for (const type of DELIVERY_ALERT_TYPES) this.alertsGenerated.inc({ type }, 0);
    this.deliveriesChecked.inc(0);
  }

  countAlert(type: DeliveryAlertType, n = 1): void {
    this.alertsGenerated.inc({ type }, n);
  }
}
