import { InstanceIdentity } from 'src/config/instance-identity';
import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { AppConfig } from 'src/config/app-config.service';
import { validateEnv } from 'src/config/validate-env';
import { DeliveryAlertRepository } from './delivery-alert.repository';
import { TrackedPurchaseOrder } from './delivery-rules';
import { DeliveryRunRepository } from './delivery-run.repository';
import {
  FakeClock,
  FakeDeliveryAlertRepository,
  FakeDeliveryRunRepository,
  FakeOutbox,
  FakePurchaseOrderSource,
  FakeRunRecorder,
  FakeTenantSource,
} from 'test/fakes/delivery-tracking.fakes';
import { DeliveryTrackingErrorCode } from './delivery-tracking.errors';
import { DeliveryTrackingMetrics } from './delivery-tracking.metrics';
import { DeliveryTrackingService, LOOKAHEAD_MS } from './delivery-tracking.service';

const NOW = new Date('2025-11-26T14:30:00.000Z');
const min = (n: number) => n * 60_000;
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

/** An order whose window is [start, start + 1 h], start relative to NOW. */
function po(
  id: string,
  startOffsetMs: number,
  receipt: 'none' | 'draft' = 'none',
): TrackedPurchaseOrder {
  return {
    id,
    po_number: `PO-${id}`,
    status: 'sent',
    supplier: { id: 'sup', name: 'Harinas del Tajo' },
    line_items: [{}, {}],
    expected_delivery_date: at(startOffsetMs),
    delivery_window: { start: at(startOffsetMs), end: at(startOffsetMs + min(60)) },
    receipt: receipt === 'draft' ? { status: 'draft', receipt_id: `r-${id}` } : { status: 'none' },
  };
}

function setup(env: Record<string, string> = {}) {
  const clock = new FakeClock(NOW);
  const tenants = new FakeTenantSource(['t1', 't2', 't3']);
  const orders = new FakePurchaseOrderSource();
  const alerts = new FakeDeliveryAlertRepository();
  const runs = new FakeDeliveryRunRepository();
  const outbox = new FakeOutbox();
  const recorder = new FakeRunRecorder();
  const registry = new Registry();
  const metrics = new DeliveryTrackingMetrics(registry);
  const service = new DeliveryTrackingService(
    clock,
    new AppConfig(validateEnv(env)),
    tenants,
    orders,
    alerts as unknown as DeliveryAlertRepository,
    runs as unknown as DeliveryRunRepository,
    outbox,
    recorder,
    metrics,
    new InstanceIdentity('pod-a_0001', 'pod-a'),
  );
  // t1: arriving soon + overdue; t2: receipt incomplete with a draft (and overdue); t3: nothing due
  orders.orders.set('t1', [po('a', min(75)), po('b', -min(105))]);
  orders.orders.set('t2', [po('c', -min(240), 'draft')]);
  orders.orders.set('t3', [po('d', min(20 * 60))]);
  return { clock, tenants, orders, alerts, runs, outbox, recorder, registry, service };
}

const metricValue = async (
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
) => {
  const metric = await registry.getSingleMetric(name)!.get();
  const match = metric.values.find((v) =>
    Object.entries(labels).every(([k, val]) => v.labels[k] === val),
  );
  return match?.value ?? 0;
};

describe(DeliveryTrackingService.name, () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  describe('run', () => {
    it('checks every tenant and publishes each due alert through the outbox', async () => {
      const { service, outbox, orders } = setup();
      const outcome = await service.run({ trigger: 'cli' });
      expect(outcome).toMatchObject({
        status: 'completed',
        summary: {
          tenants: 3,
          purchase_orders_checked: 4,
          alerts: {
            DELIVERY_ARRIVING_SOON: 1,
            DELIVERY_OVERDUE: 2,
            STOCK_RECEIPT_INCOMPLETE: 1,
          },
          errors: 0,
          tenants_not_checked: 0,
        },
      });
      expect(orders.calls.map((c) => c.deliveryBefore.getTime())).toEqual(
        Array(3).fill(NOW.getTime() + LOOKAHEAD_MS),
      );
      expect(
        outbox.messages.map((m) => [
          m.exchange,
          m.routingKey,
          m.payload.tenant_id,
          m.payload.entity_id,
        ]),
      ).toEqual(
        expect.arrayContaining([
          ['supply_chain.alerts', 'alert.delivery_arriving_soon', 't1', 'a'],
          ['supply_chain.alerts', 'alert.delivery_overdue', 't1', 'b'],
          ['supply_chain.alerts', 'alert.delivery_overdue', 't2', 'c'],
          ['supply_chain.alerts', 'alert.stock_receipt_incomplete', 't2', 'c'],
        ]),
      );
      expect(outbox.messages).toHaveLength(4);
      const incomplete = outbox.messages.find(
        (m) => m.payload.event_type === 'STOCK_RECEIPT_INCOMPLETE',
      )!;
      expect(incomplete.payload).toMatchObject({
        entity_type: 'purchase_order',
        priority_score: 80,
        domain: 'inventory',
        timestamp: NOW.toISOString(),
        smart_actions: [
          expect.objectContaining({ metadata: expect.objectContaining({ mode: 'edit' }) }),
        ],
      });
      expect(typeof incomplete.payload.event_id).toBe('string');
    });

    it('sends nothing again when run twice in the same hour', async () => {
      const { service, outbox, clock } = setup();
      await service.run({ trigger: 'cron' });
      const first = outbox.messages.length;
      clock.advance(min(10));
      const again = await service.run({ trigger: 'cron' });
      expect(again).toMatchObject({
        status: 'completed',
        summary: {
          alerts: { DELIVERY_ARRIVING_SOON: 0, DELIVERY_OVERDUE: 0, STOCK_RECEIPT_INCOMPLETE: 0 },
        },
      });
      expect(outbox.messages).toHaveLength(first);
    });

    it('re-arms an order once when its delivery moves', async () => {
      const { service, outbox, orders, clock } = setup();
      await service.run({ trigger: 'cron' });
      // the overdue order b is rescheduled to start 90 min from the next run
      clock.advance(min(60));
      orders.orders.set('t1', [po('a', min(75)), po('b', min(60 + 90))]);
      await service.run({ trigger: 'cron' });
      clock.advance(min(60));
      await service.run({ trigger: 'cron' });
      const forB = outbox.messages.filter((m) => m.payload.entity_id === 'b');
      expect(forB.map((m) => m.payload.event_type)).toEqual([
        'DELIVERY_OVERDUE',
        'DELIVERY_ARRIVING_SOON',
      ]);
    });

    it('counts a failing tenant and still processes the others', async () => {
      const { service, orders, registry } = setup();
      orders.failing.add('t2');
      const outcome = await service.run({ trigger: 'cron' });
      expect(outcome).toMatchObject({
        status: 'completed',
        summary: {
          tenants: 3,
          errors: 1,
          alerts: { DELIVERY_ARRIVING_SOON: 1, DELIVERY_OVERDUE: 1 },
        },
      });
      expect(
        await metricValue(registry, 'delivery_tracking_errors_total', { reason: 'tenant' }),
      ).toBe(1);
    });

    it('fails the run when every tenant fails', async () => {
      const { service, orders, runs } = setup();
      ['t1', 't2', 't3'].forEach((t) => orders.failing.add(t));
      const outcome = await service.run({ trigger: 'cli' });
      expect(outcome).toMatchObject({
        status: 'failed',
        code: DeliveryTrackingErrorCode.ALL_TENANTS_FAILED,
        summary: { errors: 3 },
      });
      expect(runs.runs[0]).toMatchObject({ status: 'failed' });
    });

    it('fails the run when the active tenants cannot be listed', async () => {
      const { service, tenants, runs, orders } = setup();
      tenants.failure = new Error('tenant answered 503');
      const outcome = await service.run({ trigger: 'cli' });
      expect(outcome).toMatchObject({
        status: 'failed',
        code: DeliveryTrackingErrorCode.TENANTS_UNAVAILABLE,
        message: expect.stringContaining('tenant answered 503'),
      });
      expect(orders.calls).toHaveLength(0);
      expect(runs.runs[0].errorMessage).toContain('DELIVERY_TRACKING_TENANTS_UNAVAILABLE');
    });

    it('does not record an alert whose outbox write failed, and sends it on the next run', async () => {
      const { service, outbox, alerts } = setup();
      outbox.failNext = 1;
      const first = await service.run({ trigger: 'cron' });
      expect(first).toMatchObject({ status: 'completed', summary: { errors: 1 } });
      const total = (o: typeof first) =>
        Object.values((o as { summary: { alerts: Record<string, number> } }).summary.alerts).reduce(
          (a, b) => a + b,
          0,
        );
      expect(alerts.rows).toHaveLength(total(first));
      expect(total(first)).toBe(2);

      const second = await service.run({ trigger: 'cron' });
      expect(second).toMatchObject({ summary: { errors: 0 } });
      expect(total(second)).toBe(2);
      expect(outbox.messages).toHaveLength(4);
      expect(alerts.rows).toHaveLength(4);
    });

    it('refuses to start while another run holds the lock', async () => {
      const { service, runs, clock } = setup();
      await runs.tryStart({
        trigger: 'cli',
        holder: 'other-pod',
        startedAt: NOW,
        leaseExpiresAt: new Date(NOW.getTime() + min(31)),
      });
      clock.advance(min(5));
      const outcome = await service.run({ trigger: 'cron' });
      expect(outcome).toEqual({
        status: 'refused',
        active: expect.objectContaining({ holder: 'other-pod' }),
      });
    });

    it('never has more tenants in flight than DELIVERY_TRACKING_CONCURRENCY', async () => {
      const { service, tenants, orders } = setup({ DELIVERY_TRACKING_CONCURRENCY: '4' });
      tenants.ids = Array.from({ length: 30 }, (_, i) => `t${i}`);
      orders.delayMs = 5;
      const outcome = await service.run({ trigger: 'cron' });
      expect(outcome).toMatchObject({ status: 'completed', summary: { tenants: 30 } });
      expect(orders.maxInFlight).toBe(4);
    });

    it('stops at the deadline, aborting in-flight calls, and reports what was not checked', async () => {
      const { service, tenants, orders } = setup({ DELIVERY_TRACKING_CONCURRENCY: '2' });
      tenants.ids = ['t1', 'hang-1', 'hang-2', 't2', 't3'];
      orders.hanging.add('hang-1').add('hang-2');
      const outcome = await service.run({
        trigger: 'cli',
        deadline: new Date(NOW.getTime() + 50),
      });
      expect(outcome).toMatchObject({
        status: 'failed',
        code: DeliveryTrackingErrorCode.DEADLINE_EXCEEDED,
        summary: { tenants: 5, errors: 0, tenants_not_checked: 4 },
      });
    });

    it('records the run in the history with its summary, and survives a recorder failure', async () => {
      const { service, recorder } = setup();
      const outcome = await service.run({ trigger: 'cron' });
      expect(recorder.reports).toEqual([
        expect.objectContaining({
          runId: (outcome as { runId: string }).runId,
          trigger: 'cron',
          status: 'completed',
          summary: expect.objectContaining({ tenants: 3, purchase_orders_checked: 4 }),
        }),
      ]);
      recorder.failure = new Error('executions down');
      expect(await service.run({ trigger: 'cron' })).toMatchObject({ status: 'completed' });
    });

    it('exports the specification metrics', async () => {
      const { service, registry } = setup();
      await service.run({ trigger: 'cron' });
      expect(
        await metricValue(registry, 'delivery_alerts_generated_total', {
          type: 'DELIVERY_OVERDUE',
        }),
      ).toBe(2);
      expect(await metricValue(registry, 'deliveries_checked_total')).toBe(4);
      const duration = await registry
        .getSingleMetric('delivery_tracking_job_duration_seconds')!
        .get();
      expect(
        duration.values.find(
          (v) =>
            v.labels.status === 'completed' &&
            (v as { metricName?: string }).metricName?.endsWith('_count'),
        )?.value,
      ).toBe(1);
    });
  });
});
