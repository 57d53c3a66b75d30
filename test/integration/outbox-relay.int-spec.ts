import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import amqplib, { ChannelModel, ConsumeMessage } from 'amqplib';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { SystemClock } from 'src/common/time/clock';
import { AppConfig } from 'src/config/app-config.service';
import { validateEnv } from 'src/config/validate-env';
import { buildDataSourceOptions } from 'src/database/data-source';
import { AmqpConnection } from 'src/events/amqp-connection';
import { AmqpPublisher } from 'src/events/amqp-publisher';
import {
  ORCHESTRATOR_EXCHANGE,
  OutboxMessage,
  SUPPLY_CHAIN_ALERTS_EXCHANGE,
} from 'src/events/event-contracts';
import { OutboxMetrics } from 'src/events/outbox-metrics';
import { OutboxRelayOptions, OutboxRelayService } from 'src/events/outbox-relay.service';
import { OutboxRepository } from 'src/events/outbox.repository';
import { OutboxService } from 'src/events/outbox.service';
import { OutboxSignal } from 'src/events/outbox-signal';
import { SERVICES, describeWith } from '../utils/services';
import { TcpProxy } from '../utils/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

/** One replica's events stack, built by hand on its own DataSource and AMQP connection. */
interface Replica {
  ds: DataSource;
  outbox: OutboxService;
  relay: OutboxRelayService;
  metrics: OutboxMetrics;
  close(): Promise<void>;
}

async function buildReplica(
  databaseUrl: string,
  rabbitUrl: string | undefined,
  options: Partial<OutboxRelayOptions> = {},
): Promise<Replica> {
  const env = validateEnv({ DATABASE_URL: databaseUrl, RABBITMQ_URL: rabbitUrl });
  const ds = new DataSource(buildDataSourceOptions(env, { poolSize: 4 }));
  await ds.initialize();
  const amqp = new AmqpConnection(new AppConfig(env));
  const repository = new OutboxRepository(ds);
  const signal = new OutboxSignal();
  const metrics = new OutboxMetrics(new Registry());
  const outbox = new OutboxService(repository, signal, metrics);
  const relay = new OutboxRelayService(
    repository,
    new AmqpPublisher(amqp),
    signal,
    metrics,
    new SystemClock(),
    options,
  );
  return {
    ds,
    outbox,
    relay,
    metrics,
    async close() {
      await relay.stop();
      await amqp.onApplicationShutdown();
      await ds.destroy();
    },
  };
}

/** A private queue on the real broker, bound to one routing key. */
class BoundQueue {
  readonly messages: ConsumeMessage[] = [];

  private constructor(private readonly connection: ChannelModel) {}

  static async bind(exchange: string, routingKey: string): Promise<BoundQueue> {
    const connection = await amqplib.connect(SERVICES.rabbitmq.url);
    const queue = new BoundQueue(connection);
    const channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue: name } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(name, exchange, routingKey);
    await channel.consume(name, (msg) => msg && queue.messages.push(msg), { noAck: true });
    return queue;
  }

  payloads(): Record<string, any>[] {
    return this.messages.map((m) => JSON.parse(m.content.toString()));
  }

  /** How many times each event_id arrived. */
  countsByEventId(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const p of this.payloads()) counts.set(p.event_id, (counts.get(p.event_id) ?? 0) + 1);
    return counts;
  }

  async waitForEvents(eventIds: string[], timeoutMs = 30_000): Promise<void> {
    await until(
      () => {
        const counts = this.countsByEventId();
        return eventIds.every((id) => counts.has(id));
      },
      timeoutMs,
      () => `${this.countsByEventId().size} of ${eventIds.length} events arrived`,
    );
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = () => '',
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const testKey = () => `outbox_test.${randomUUID()}`;

const events = (routingKey: string, count: number, exchange = ORCHESTRATOR_EXCHANGE) =>
  Array.from({ length: count }, (_, n): OutboxMessage => ({
    exchange,
    routingKey,
    payload: { event_type: 'orchestrator_workflow_completed', n },
  }));

async function enqueue(replica: Replica, messages: OutboxMessage[]): Promise<string[]> {
  return replica.ds.transaction((tx) => replica.outbox.enqueue(tx, messages));
}

async function unsentCount(ds: DataSource): Promise<number> {
  const [{ n }] = await ds.query(
    'SELECT count(*)::int AS n FROM orchestrator_outbox WHERE sent_at IS NULL',
  );
  return n;
}

const counterTotal = async (counter: OutboxMetrics['published']) =>
  (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);

describeWith(['postgres', 'rabbitmq'], 'outbox relay against PostgreSQL and RabbitMQ', () => {
  let db: TestDatabase;
  const opened: { close(): Promise<void> }[] = [];
  const track = <T extends { close(): Promise<void> }>(thing: T): T => {
    opened.push(thing);
    return thing;
  };

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    db = await createTestDatabase({ migrated: true });
  });

  afterEach(async () => {
    for (const thing of opened.splice(0).reverse()) await thing.close();
  });

  afterAll(async () => {
    await db?.drop();
  });

  // every test starts from an empty outbox, so a relay only sees that test's events
  beforeEach(async () => {
    const ds = new DataSource(buildDataSourceOptions({ DATABASE_URL: db.url, DATA_DIR: '' }));
    await ds.initialize();
    await ds.query('DELETE FROM orchestrator_outbox');
    await ds.destroy();
  });

  it('publishes nothing for a transaction that rolled back', async () => {
    const key = testKey();
    const queue = track(await BoundQueue.bind(ORCHESTRATOR_EXCHANGE, key));
    const replica = track(await buildReplica(db.url, SERVICES.rabbitmq.url));
    replica.relay.start();

    let rolledBack: string[] = [];
    await replica.ds
      .transaction(async (tx) => {
        rolledBack = await replica.outbox.enqueue(tx, events(key, 3));
        throw new Error('the state change failed');
      })
      .catch(() => undefined);
    const [committed] = await enqueue(replica, events(key, 1));
    await queue.waitForEvents([committed]);

    expect(rolledBack).toHaveLength(3);
    expect(queue.payloads().map((p) => p.event_id)).toEqual([committed]);
  });

  it('delivers a committed event once: persistent JSON with event_id, message id and type', async () => {
    const key = testKey();
    const queue = track(await BoundQueue.bind(SUPPLY_CHAIN_ALERTS_EXCHANGE, key));
    // a poll interval far beyond the test: only the after-commit wake-up can deliver in time
    const replica = track(
      await buildReplica(db.url, SERVICES.rabbitmq.url, { pollIntervalMs: 600_000 }),
    );
    replica.relay.start();
    await until(() => replica.relay.isRunning, 1000);
    await new Promise((r) => setTimeout(r, 200)); // let the first (empty) poll pass

    const started = Date.now();
    const [eventId] = await enqueue(replica, [
      {
        exchange: SUPPLY_CHAIN_ALERTS_EXCHANGE,
        routingKey: key,
        payload: { event_type: 'DELIVERY_OVERDUE', tenant_id: 't-1', priority_score: 95 },
      },
    ]);
    await queue.waitForEvents([eventId], 5000);
    const latencyMs = Date.now() - started;
    await until(async () => (await unsentCount(replica.ds)) === 0, 5000);
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would show up here

    expect(queue.messages).toHaveLength(1);
    const [msg] = queue.messages;
    expect(JSON.parse(msg.content.toString())).toEqual({
      event_id: eventId,
      event_type: 'DELIVERY_OVERDUE',
      tenant_id: 't-1',
      priority_score: 95,
    });
    expect(msg.properties).toEqual(
      expect.objectContaining({
        deliveryMode: 2,
        contentType: 'application/json',
        messageId: eventId,
        type: 'DELIVERY_OVERDUE',
        headers: expect.objectContaining({ event_type: 'DELIVERY_OVERDUE', event_id: eventId }),
      }),
    );
    expect(msg.fields.exchange).toBe(SUPPLY_CHAIN_ALERTS_EXCHANGE);
    expect(latencyMs).toBeLessThan(2000);
  });

  it('keeps events through a broker outage, retrying with backoff, and delivers all 200 after it', async () => {
    const key = testKey();
    const queue = track(await BoundQueue.bind(ORCHESTRATOR_EXCHANGE, key));
    const proxy = new TcpProxy(SERVICES.rabbitmq.host, SERVICES.rabbitmq.port);
    await proxy.start();
    track({ close: () => proxy.cut() });
    const replica = track(
      await buildReplica(db.url, `amqp://guest:guest@127.0.0.1:${proxy.port}`, {
        pollIntervalMs: 100,
        connectWaitMs: 300,
        publishTimeoutMs: 2000,
        backoff: { baseMs: 200, maxMs: 1500 },
      }),
    );
    replica.relay.start();
    const [warmUp] = await enqueue(replica, events(key, 1));
    await queue.waitForEvents([warmUp]);

    await proxy.cut();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(...(await enqueue(replica, events(key, 50))));
    const attemptsNow = async () => {
      const [row] = await replica.ds.query(
        `SELECT count(*)::int AS unsent, max(attempts)::int AS max_attempts,
                count(last_error)::int AS with_error, min(last_error) AS error
           FROM orchestrator_outbox WHERE sent_at IS NULL`,
      );
      return row;
    };
    await until(async () => (await attemptsNow()).max_attempts >= 2, 20_000);
    const during = await attemptsNow();
    await until(async () => (await attemptsNow()).max_attempts > during.max_attempts, 20_000);
    const later = await attemptsNow();

    expect(during.unsent).toBe(200);
    expect(later.unsent).toBe(200);
    expect(later.with_error).toBeGreaterThan(0);
    expect(later.error).toMatch(/RabbitMQ unavailable|timeout|closed/i);
    expect(queue.countsByEventId().size).toBe(1); // only the warm-up got through

    await proxy.restore();
    await queue.waitForEvents(ids, 30_000);
    await until(async () => (await unsentCount(replica.ds)) === 0, 10_000);

    const counts = queue.countsByEventId();
    expect(ids.every((id) => counts.get(id) === 1)).toBe(true);
    expect(await counterTotal(replica.metrics.publishFailures)).toBeGreaterThan(0);
    expect(await counterTotal(replica.metrics.published)).toBe(201);
  });

  it('loses nothing when the broker goes away in the middle of a burst', async () => {
    const key = testKey();
    const queue = track(await BoundQueue.bind(ORCHESTRATOR_EXCHANGE, key));
    const proxy = new TcpProxy(SERVICES.rabbitmq.host, SERVICES.rabbitmq.port);
    await proxy.start();
    track({ close: () => proxy.cut() });
    const replica = track(
      await buildReplica(db.url, `amqp://guest:guest@127.0.0.1:${proxy.port}`, {
        batchSize: 50,
        pollIntervalMs: 100,
        connectWaitMs: 300,
        publishTimeoutMs: 2000,
        backoff: { baseMs: 200, maxMs: 1500 },
      }),
    );
    const ids = await enqueue(replica, events(key, 3000));
    replica.relay.start();
    await until(() => queue.messages.length >= 300, 30_000);

    await proxy.cut();
    const arrivedBeforeCut = queue.countsByEventId().size;
    await new Promise((r) => setTimeout(r, 1500));
    await proxy.restore();
    await queue.waitForEvents(ids, 60_000);
    await until(async () => (await unsentCount(replica.ds)) === 0, 10_000);

    expect(arrivedBeforeCut).toBeLessThan(3000);
    // at least once: a publish the broker took but whose confirm the cut swallowed may repeat
    const counts = queue.countsByEventId();
    expect(ids.filter((id) => !counts.has(id))).toEqual([]);
    expect(counts.size).toBe(3000);
  });

  it('two relays on the same outbox publish each event exactly once', async () => {
    const key = testKey();
    const queue = track(await BoundQueue.bind(ORCHESTRATOR_EXCHANGE, key));
    const a = track(await buildReplica(db.url, SERVICES.rabbitmq.url, { batchSize: 20 }));
    const b = track(await buildReplica(db.url, SERVICES.rabbitmq.url, { batchSize: 20 }));
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(...(await enqueue(a, events(key, 500))));

    a.relay.start();
    b.relay.start();
    await queue.waitForEvents(ids, 60_000);
    await until(async () => (await unsentCount(a.ds)) === 0, 10_000);
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would show up here

    const counts = queue.countsByEventId();
    expect(counts.size).toBe(2000);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(queue.messages).toHaveLength(2000);
    const byA = await counterTotal(a.metrics.published);
    const byB = await counterTotal(b.metrics.published);
    expect(byA + byB).toBe(2000);
    // both really took part, or this would not test concurrent claims
    expect(byA).toBeGreaterThan(0);
    expect(byB).toBeGreaterThan(0);
  });

  it('relays a backlog of 5,000 events without sleeping between batches', async () => {
    const key = testKey();
    const queue = track(await BoundQueue.bind(ORCHESTRATOR_EXCHANGE, key));
    // a poll interval that would make a sleeping relay take 50 s
    const replica = track(
      await buildReplica(db.url, SERVICES.rabbitmq.url, { pollIntervalMs: 1000 }),
    );
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(...(await enqueue(replica, events(key, 1000))));

    const started = Date.now();
    replica.relay.start();
    await until(async () => (await unsentCount(replica.ds)) === 0, 60_000);
    const seconds = (Date.now() - started) / 1000;
    await queue.waitForEvents(ids, 10_000);

    process.stdout.write(
      `outbox relay: 5000 events in ${seconds.toFixed(2)} s = ${Math.round(5000 / seconds)} events/s\n`,
    );
    expect(queue.countsByEventId().size).toBe(5000);
    expect(seconds).toBeLessThan(30);
  });

  it('stops cleanly: nothing is claimed or published after stop', async () => {
    const key = testKey();
    const queue = track(await BoundQueue.bind(ORCHESTRATOR_EXCHANGE, key));
    const replica = track(await buildReplica(db.url, SERVICES.rabbitmq.url));
    replica.relay.start();
    const [first] = await enqueue(replica, events(key, 1));
    await queue.waitForEvents([first]);

    await replica.relay.stop();
    await enqueue(replica, events(key, 5));
    await new Promise((r) => setTimeout(r, 1500));

    expect(replica.relay.isRunning).toBe(false);
    expect(queue.messages).toHaveLength(1);
    const [row] = await replica.ds.query(
      'SELECT count(*)::int AS n, max(attempts)::int AS attempts FROM orchestrator_outbox WHERE sent_at IS NULL',
    );
    expect(row).toEqual({ n: 5, attempts: 0 });
  });

  it('records an event no queue is bound for as unroutable, not sent, and delivers it once a queue is bound', async () => {
    const key = testKey();
    const replica = track(
      await buildReplica(db.url, SERVICES.rabbitmq.url, {
        pollIntervalMs: 50,
        unroutableBackoff: { baseMs: 200, maxMs: 400 },
      }),
    );
    replica.relay.start();
    const [eventId] = await enqueue(replica, events(key, 1));
    const row = async () =>
      (
        await replica.ds.query(
          `SELECT status, sent_at, attempts, last_error FROM orchestrator_outbox
            WHERE payload->>'event_id' = $1`,
          [eventId],
        )
      )[0];

    // confirmed by the broker, but returned: no queue is bound to this routing key
    await until(async () => (await row()).attempts >= 2, 10_000);
    const returned = await row();
    expect(returned).toEqual(
      expect.objectContaining({
        status: 'unroutable',
        sent_at: null,
        last_error: expect.stringContaining(`routing key "${key}"`),
      }),
    );
    expect(returned.last_error).toContain('NO_ROUTE');
    expect((await replica.metrics.unroutable.get()).values).toEqual([
      expect.objectContaining({
        labels: { exchange: ORCHESTRATOR_EXCHANGE, routing_key: key },
        value: expect.any(Number),
      }),
    ]);
    expect(await counterTotal(replica.metrics.published)).toBe(0);

    const queue = track(await BoundQueue.bind(ORCHESTRATOR_EXCHANGE, key));
    await queue.waitForEvents([eventId], 10_000);
    await until(async () => (await row()).status === 'sent', 5000);
    await new Promise((r) => setTimeout(r, 600)); // a second delivery would arrive here

    expect(queue.countsByEventId()).toEqual(new Map([[eventId, 1]]));
    expect(await row()).toEqual(
      expect.objectContaining({ status: 'sent', sent_at: expect.any(Date) }),
    );
  });

  it('without RABBITMQ_URL keeps events in the outbox and starts no relay', async () => {
    const replica = track(await buildReplica(db.url, undefined));
    expect(replica.relay.start()).toBe(false);
    await enqueue(replica, events(testKey(), 3));
    expect(await replica.outbox.backlog()).toEqual(expect.objectContaining({ unsent: 3 }));
  });
});
