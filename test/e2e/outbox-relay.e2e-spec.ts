import { randomUUID } from 'node:crypto';
import amqplib, { ChannelModel, ConsumeMessage } from 'amqplib';
import { Client } from 'pg';
import { ServiceProcess, freePort } from '../utils/service-process';
import { SERVICES, describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeWith(['postgres', 'rabbitmq'], 'outbox relay in the running service', () => {
  const routingKey = `outbox_e2e.${randomUUID()}`;
  let db: TestDatabase;
  let sql: Client;
  let broker: ChannelModel;
  const received: ConsumeMessage[] = [];
  let service: ServiceProcess;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sql = new Client({ connectionString: db.url });
    await sql.connect();
    broker = await amqplib.connect(SERVICES.rabbitmq.url);
    const channel = await broker.createChannel();
    await channel.assertExchange('orchestrator', 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, 'orchestrator', routingKey);
    await channel.consume(queue, (msg) => msg && received.push(msg), { noAck: true });

    service = new ServiceProcess({
      PORT: freePort(),
      DATABASE_URL: db.url,
      RABBITMQ_URL: SERVICES.rabbitmq.url,
    }).start();
    await service.waitFor('/api/v1/orchestrator/health/ready');
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await broker?.close().catch(() => undefined);
    await sql?.end();
    await db?.drop();
  });

  it('publishes what another writer committed to the outbox, and counts it', async () => {
    const eventIds = [randomUUID(), randomUUID(), randomUUID()];
    // committed by "someone else" (no in-process wake-up): the relay's poll finds them
    for (const eventId of eventIds) {
      await sql.query(
        `INSERT INTO orchestrator_outbox (exchange, routing_key, payload) VALUES ('orchestrator', $1, $2)`,
        [routingKey, JSON.stringify({ event_id: eventId, event_type: 'e2e_probe' })],
      );
    }
    await until(() => received.length >= 3, 15_000);
    await until(async () => {
      const { rows } = await sql.query(
        'SELECT count(*)::int AS n FROM orchestrator_outbox WHERE sent_at IS NULL AND routing_key = $1',
        [routingKey],
      );
      return rows[0].n === 0;
    }, 10_000);

    expect(received.map((m) => JSON.parse(m.content.toString()).event_id).sort()).toEqual(
      [...eventIds].sort(),
    );
    expect(received.every((m) => m.properties.deliveryMode === 2)).toBe(true);
    const metrics = await service.get('/metrics');
    expect(metrics.body).toContain(
      `orchestrator_outbox_published_total{exchange="orchestrator",routing_key="${routingKey}"} 3`,
    );
    expect(metrics.body).toMatch(/orchestrator_outbox_backlog \d+/);
    expect(metrics.body).toContain('orchestrator_outbox_publish_failures_total');
  });

  it('stops the relay and exits 0 on SIGTERM', async () => {
    const result = await service.stop('SIGTERM');
    expect(result).toEqual(expect.objectContaining({ code: 0, signal: null }));
    expect(result.ms).toBeLessThan(15_000);
  });
});
