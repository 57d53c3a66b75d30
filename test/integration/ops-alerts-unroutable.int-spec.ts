import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import amqplib, { ChannelModel } from 'amqplib';
import { DataSource } from 'typeorm';
import { FakeClock } from '../fakes/fake-clock';
import { ORCHESTRATOR_EXCHANGE } from 'src/events/event-contracts';
import { OUTBOX_RELAY_OPTIONS } from 'src/events/outbox-relay.service';
import { OutboxService } from 'src/events/outbox.service';
import { AlertsService } from 'src/metrics/alerts/alerts.service';
import { RecordingNotifier, startAlertsApp } from '../utils/alerts-app';
import { SERVICES, describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The events_unroutable alert on the real broker: an event no queue is bound for is
 * returned, the periodic evaluation opens one alert for its exchange (row + outbox event),
 * and once a queue is bound and the relay delivered it, the next evaluation clears it.
 */
describeWith(['postgres', 'rabbitmq'], 'alerts: unroutable events on RabbitMQ', () => {
  let db: TestDatabase;
  let app: INestApplication;
  let ds: DataSource;
  let alerts: AlertsService;
  let outbox: OutboxService;
  let consumer: ChannelModel | undefined;
  const notifier = new RecordingNotifier();
  const condition = `events_unroutable:${ORCHESTRATOR_EXCHANGE}`;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    app = await startAlertsApp({
      databaseUrl: db.url,
      clock: new FakeClock(new Date('2026-03-10T06:00:00Z')),
      notifier,
      env: { RABBITMQ_URL: SERVICES.rabbitmq.url },
      providers: [
        // short retries of returned events, so a binding is noticed within the test
        {
          provide: OUTBOX_RELAY_OPTIONS,
          useValue: { pollIntervalMs: 50, unroutableBackoff: { baseMs: 200, maxMs: 400 } },
        },
      ],
    });
    ds = app.get(DataSource);
    alerts = app.get(AlertsService);
    outbox = app.get(OutboxService);
  });

  afterAll(async () => {
    await consumer?.close().catch(() => undefined);
    await app?.close();
    await db?.drop();
  });

  const alertRows = () =>
    ds.query(`SELECT * FROM orchestrator_alerts WHERE condition_key = $1 ORDER BY opened_at`, [
      condition,
    ]);
  const alertEvents = async (routingKey: string) =>
    (
      await ds.query(
        `SELECT payload, status FROM orchestrator_outbox
          WHERE routing_key = $1 AND payload->>'condition' = $2`,
        [routingKey, condition],
      )
    ).map((r: { payload: Record<string, unknown> }) => r.payload);
  const status = async (eventId: string) =>
    (
      await ds.query(`SELECT status FROM orchestrator_outbox WHERE payload->>'event_id' = $1`, [
        eventId,
      ])
    )[0].status as string;

  it('opens one alert while an event is unroutable and clears it once it was delivered', async () => {
    // nothing unroutable yet: nothing opens
    expect(await alerts.evaluateUnroutable()).toEqual([]);

    const key = `unroutable_alert_test.${randomUUID()}`;
    const [eventId] = await ds.transaction((tx) =>
      outbox.enqueue(tx, [
        { exchange: ORCHESTRATOR_EXCHANGE, routingKey: key, payload: { event_type: 'test' } },
      ]),
    );
    await until(async () => (await status(eventId)) === 'unroutable', 10_000, 'returned');

    const opened = await alerts.evaluate();
    const alert = opened.find((a) => a.conditionKey === condition);
    expect(alert).toMatchObject({ kind: 'events_unroutable', workflowName: null });
    expect(alert!.message).toContain(`1 event(s) on exchange ${ORCHESTRATOR_EXCHANGE}`);
    expect(alert!.message).toContain(`routing key ${key}`);
    const [row] = await ds.query(
      `SELECT created_at FROM orchestrator_outbox WHERE payload->>'event_id' = $1`,
      [eventId],
    );
    expect(alert!.details).toMatchObject({
      exchange: ORCHESTRATOR_EXCHANGE,
      unroutable: 1,
      routing_keys: [key],
      oldest_routing_key: key,
      oldest_created_at: new Date(row.created_at).toISOString(),
      oldest_age_seconds: expect.any(Number),
    });
    expect(notifier.sent.map((a) => a.conditionKey)).toContain(condition);
    // still unroutable: the next evaluation keeps the one open alert and opens nothing
    expect(await alerts.evaluateUnroutable()).toEqual([]);
    const rows = await alertRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'events_unroutable', cleared_at: null });
    expect(await alertEvents('orchestrator.alert')).toHaveLength(1);

    // a queue for the event (and for the alert events, which no queue took either)
    consumer = await amqplib.connect(SERVICES.rabbitmq.url);
    const channel = await consumer.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    for (const k of [key, 'orchestrator.alert', 'orchestrator.alert_resolved']) {
      await channel.bindQueue(queue, ORCHESTRATOR_EXCHANGE, k);
    }
    const received: string[] = [];
    await channel.consume(
      queue,
      (m) => m && received.push(JSON.parse(m.content.toString()).event_id),
      {
        noAck: true,
      },
    );
    await until(async () => (await status(eventId)) === 'sent', 10_000, 'delivered');
    await until(
      async () => (await outbox.unroutable()).length === 0,
      10_000,
      'every returned event delivered',
    );
    expect(received).toContain(eventId);

    await alerts.evaluate();
    const [cleared] = await alertRows();
    expect(cleared.cleared_at).not.toBeNull();
    const resolved = await alertEvents('orchestrator.alert_resolved');
    expect(resolved).toEqual([
      expect.objectContaining({
        kind: 'events_unroutable',
        reason: 'every unroutable event was delivered',
      }),
    ]);
  });
});
