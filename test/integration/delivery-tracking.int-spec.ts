import { randomInt } from 'node:crypto';
import { INestApplicationContext, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import amqplib, { ChannelModel } from 'amqplib';
import { Client } from 'pg';
import { validateEnv } from 'src/config/validate-env';
import { decideDeliveryAlerts, TrackedPurchaseOrder } from 'src/delivery-tracking/delivery-rules';
import { DeliveryTrackingCommandModule } from 'src/delivery-tracking/delivery-tracking-command.module';
import {
  DeliveryTrackingService,
  DeliveryTrackingSummary,
  LOOKAHEAD_MS,
} from 'src/delivery-tracking/delivery-tracking.service';
import { RunningSimulator, startSimulator } from 'tools/simulator';
import { SERVICES, describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const ANCHOR = new Date('2025-11-26T14:30:00.000Z');

interface Seen {
  routingKey: string;
  persistent: boolean;
  payload: Record<string, any>;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What the pure rules say every active tenant should get at `now`, as "tenant|po|type". */
function expectedAlerts(sim: RunningSimulator, now: Date, tenantIds: string[]): string[] {
  const keys: string[] = [];
  for (const tenantId of tenantIds) {
    for (const po of sim.purchaseOrders(tenantId)) {
      if (!['approved', 'sent'].includes(po.status)) continue;
      if (new Date(po.expected_delivery_date).getTime() > now.getTime() + LOOKAHEAD_MS) continue;
      for (const d of decideDeliveryAlerts(po as TrackedPurchaseOrder, now, [])) {
        keys.push(`${tenantId}|${po.id}|${d.type}`);
      }
    }
  }
  return keys.sort();
}

const keyOf = (m: Seen) => `${m.payload.tenant_id}|${m.payload.entity_id}|${m.payload.event_type}`;

describeWith(
  ['postgres', 'rabbitmq'],
  'delivery tracking over the simulator, PostgreSQL and RabbitMQ',
  () => {
    let db: TestDatabase;
    let sql: Client;
    let sim: RunningSimulator;
    let broker: ChannelModel;
    let app: INestApplicationContext;
    let service: DeliveryTrackingService;
    let tenantIds: string[];
    const seen: Seen[] = [];
    const mine = () => seen.filter((m) => tenantIds.includes(m.payload.tenant_id));

    beforeAll(async () => {
      db = await createTestDatabase({ migrated: true });
      sql = new Client({ connectionString: db.url });
      await sql.connect();
      // a seed of its own: tenant ids no other suite on the shared broker produces
      sim = await startSimulator({ tenants: 50, seed: randomInt(1, 2 ** 31), anchor: ANCHOR });
      tenantIds = sim.activeTenants().map((t) => t.id);

      broker = await amqplib.connect(SERVICES.rabbitmq.url);
      const channel = await broker.createChannel();
      await channel.assertExchange('supply_chain.alerts', 'topic', { durable: true });
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, 'supply_chain.alerts', 'alert.#');
      await channel.consume(
        queue,
        (msg) =>
          msg &&
          seen.push({
            routingKey: msg.fields.routingKey,
            persistent: msg.properties.deliveryMode === 2,
            payload: JSON.parse(msg.content.toString()),
          }),
        { noAck: true },
      );

      const env = validateEnv({
        DATABASE_URL: db.url,
        RABBITMQ_URL: SERVICES.rabbitmq.url,
        TENANT_SERVICE_URL: sim.url,
        PROCUREMENT_SERVICE_URL: sim.url,
        RUN_MIGRATIONS: 'false',
        LOG_LEVEL: 'silent',
      });
      app = await NestFactory.createApplicationContext(DeliveryTrackingCommandModule.forRoot(env), {
        logger: false,
      });
      Logger.overrideLogger(false);
      service = app.get(DeliveryTrackingService);
    });

    afterAll(async () => {
      await app?.close();
      await broker?.close().catch(() => undefined);
      await sim?.close();
      await sql?.end();
      await db?.drop();
    });

    let first: DeliveryTrackingSummary;

    it('publishes exactly the alerts the rules expect for 50 tenants, once each', async () => {
      const expected = expectedAlerts(sim, ANCHOR, tenantIds);
      const outcome = await service.run({ trigger: 'manual', now: ANCHOR });
      expect(outcome.status).toBe('completed');
      first = (outcome as { summary: DeliveryTrackingSummary }).summary;

      expect(first.tenants).toBe(tenantIds.length);
      expect(first.errors).toBe(0);
      expect(Object.values(first.alerts).reduce((a, b) => a + b, 0)).toBe(expected.length);
      // every delivery case of the simulator is there: the run is not vacuously right
      expect(first.alerts.DELIVERY_ARRIVING_SOON).toBeGreaterThan(0);
      expect(first.alerts.DELIVERY_OVERDUE).toBeGreaterThan(0);
      expect(first.alerts.STOCK_RECEIPT_INCOMPLETE).toBeGreaterThan(0);

      await until(() => mine().length >= expected.length, 20_000);
      await new Promise((r) => setTimeout(r, 500)); // room for a duplicate to show up
      expect(mine().map(keyOf).sort()).toEqual(expected);
      expect(mine().every((m) => m.persistent)).toBe(true);
      expect(
        mine().every((m) => m.routingKey === `alert.${m.payload.event_type.toLowerCase()}`),
      ).toBe(true);
      const overdue = mine().find((m) => m.payload.event_type === 'DELIVERY_OVERDUE')!;
      expect(overdue.payload).toMatchObject({
        entity_type: 'purchase_order',
        severity: 'critical',
        priority_score: 95,
        alert_class: 'critical',
        domain: 'supply_chain',
        timestamp: ANCHOR.toISOString(),
        context: expect.objectContaining({
          po_number: expect.any(String),
          supplier_name: expect.any(String),
          delay_minutes: expect.any(Number),
          items_count: expect.any(Number),
        }),
      });
      // the event id is the recorded alert's: consumers and the table agree
      const { rows } = await sql.query(
        'SELECT event_id FROM orchestrator_delivery_alerts WHERE event_id = $1',
        [overdue.payload.event_id],
      );
      expect(rows).toHaveLength(1);

      // the run is in the execution history too, with its summary
      const history = await sql.query(
        `SELECT workflow_name, execution_type, status, tenant_id, result_summary
           FROM orchestrator_executions WHERE workflow_name = 'delivery_tracking'`,
      );
      expect(history.rows).toEqual([
        {
          workflow_name: 'delivery_tracking',
          execution_type: 'manual',
          status: 'completed',
          tenant_id: null,
          result_summary: expect.objectContaining({
            tenants: tenantIds.length,
            purchase_orders_checked: first.purchase_orders_checked,
            alerts: first.alerts,
            trigger: 'manual',
          }),
        },
      ]);
    });

    it('publishes nothing when run again for the same hour', async () => {
      const before = mine().length;
      const outcome = await service.run({
        trigger: 'manual',
        now: new Date(ANCHOR.getTime() + 10 * 60_000),
      });
      expect(outcome).toMatchObject({
        status: 'completed',
        summary: {
          tenants: tenantIds.length,
          errors: 0,
          alerts: { DELIVERY_ARRIVING_SOON: 0, DELIVERY_OVERDUE: 0, STOCK_RECEIPT_INCOMPLETE: 0 },
        },
      });
      await new Promise((r) => setTimeout(r, 1500));
      expect(mine()).toHaveLength(before);
    });

    it('counts a tenant whose procurement answers 500 and processes the others', async () => {
      // every window moves 3 h later: a rescheduling, so the rules re-arm each order once
      const moved = new Date(ANCHOR.getTime() + 3 * 3600_000);
      sim.setAnchor(moved);
      const failing = tenantIds[7];
      sim.addFault({ service: 'procurement', tenant_id: failing, status: 500 });
      sim.clearCalls();
      const others = tenantIds.filter((t) => t !== failing);
      const expected = expectedAlerts(sim, moved, others);
      const before = mine().length;

      const outcome = await service.run({ trigger: 'manual', now: moved });
      expect(outcome).toMatchObject({
        status: 'completed',
        summary: { tenants: tenantIds.length, errors: 1, tenants_not_checked: 0 },
      });
      const failedCalls = sim.calls({
        operation: 'procurement.list_purchase_orders',
        tenant_id: failing,
      });
      expect(failedCalls.length).toBeGreaterThanOrEqual(1);
      expect(failedCalls.every((c) => c.status === 500)).toBe(true);

      await until(() => mine().length >= before + expected.length, 20_000);
      await new Promise((r) => setTimeout(r, 500));
      const fresh = mine().slice(before);
      expect(fresh.map(keyOf).sort()).toEqual(expected);
      expect(fresh.some((m) => m.payload.tenant_id === failing)).toBe(false);
      sim.clearFaults();
    });
  },
);
