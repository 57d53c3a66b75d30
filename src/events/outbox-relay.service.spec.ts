import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { SystemClock } from 'src/common/time/clock';
import { AmqpPublisher, OutgoingEvent, PublishOutcome } from './amqp-publisher';
import { OutboxMetrics } from './outbox-metrics';
import { OutboxRelayOptions, OutboxRelayService } from './outbox-relay.service';
import { ClaimedOutboxRow, OutboxFailure, OutboxRepository } from './outbox.repository';
import { OutboxSignal } from './outbox-signal';

interface Row extends ClaimedOutboxRow {
  sent: boolean;
  status: 'pending' | 'sent' | 'unroutable';
  availableAt: number;
  lastError: string | null;
}

/** The outbox table in memory, with the repository's claim semantics. */
class FakeOutboxRepository {
  rows: Row[] = [];
  claims = 0;
  failNextClaim: Error | null = null;

  add(count: number): void {
    for (let i = 0; i < count; i++) {
      const id = `00000000-0000-4000-8000-${String(this.rows.length).padStart(12, '0')}`;
      this.rows.push({
        id,
        exchange: 'orchestrator',
        routingKey: 'orchestrator.workflow_completed',
        payload: { event_id: id, event_type: 'orchestrator_workflow_completed' },
        attempts: 0,
        createdAt: new Date(),
        sent: false,
        status: 'pending',
        availableAt: 0,
        lastError: null,
      });
    }
  }

  async claim(limit: number, leaseMs: number): Promise<ClaimedOutboxRow[]> {
    this.claims++;
    if (this.failNextClaim) {
      const err = this.failNextClaim;
      this.failNextClaim = null;
      throw err;
    }
    const now = Date.now();
    const due = this.rows.filter((r) => !r.sent && r.availableAt <= now).slice(0, limit);
    for (const r of due) r.availableAt = now + leaseMs;
    return due.map((r) => ({ ...r, payload: { ...r.payload } }));
  }

  async markSent(ids: string[]): Promise<number> {
    for (const r of this.rows)
      if (ids.includes(r.id)) {
        r.sent = true;
        r.status = 'sent';
      }
    return ids.length;
  }

  async markFailed(failures: OutboxFailure[]): Promise<number> {
    return this.record(failures, 'pending');
  }

  async markUnroutable(failures: OutboxFailure[]): Promise<number> {
    return this.record(failures, 'unroutable');
  }

  private record(failures: OutboxFailure[], status: Row['status']): number {
    for (const f of failures) {
      const r = this.rows.find((x) => x.id === f.id)!;
      r.attempts++;
      r.lastError = f.error;
      r.status = status;
      r.availableAt = Date.now() + f.delayMs;
    }
    return failures.length;
  }

  async purgeSent(): Promise<number> {
    return 0;
  }

  get sentCount(): number {
    return this.rows.filter((r) => r.sent).length;
  }
}

/** A broker that confirms, refuses chosen events, or never answers. */
class FakePublisher {
  isConfigured = true;
  ready = true;
  published: OutgoingEvent[] = [];
  refuse = new Set<string>();
  /** event ids the broker returns: confirmed, but no queue bound */
  unbound = new Set<string>();
  hang = false;
  private readonly hanging: (() => void)[] = [];

  open(): void {}
  isReady(): boolean {
    return this.ready;
  }
  async waitUntilReady(): Promise<boolean> {
    return this.ready;
  }
  async publish(event: OutgoingEvent): Promise<PublishOutcome> {
    if (this.hang) {
      await new Promise<void>((_, reject) => this.hanging.push(() => reject(new Error('timeout'))));
    }
    if (this.refuse.has(event.eventId)) throw new Error('nacked');
    if (this.unbound.has(event.eventId)) return { routed: false, reason: 'returned: NO_ROUTE' };
    this.published.push(event);
    return { routed: true };
  }
  timeOutHanging(): void {
    this.hanging.splice(0).forEach((fail) => fail());
  }
  async close(): Promise<void> {}
}

const until = async (condition: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe(OutboxRelayService.name, () => {
  beforeAll(() => Logger.overrideLogger(false));
  let repository: FakeOutboxRepository;
  let publisher: FakePublisher;
  let signal: OutboxSignal;
  let metrics: OutboxMetrics;
  let relay: OutboxRelayService;

  const build = (options: Partial<OutboxRelayOptions> = {}) => {
    relay = new OutboxRelayService(
      repository as unknown as OutboxRepository,
      publisher as unknown as AmqpPublisher,
      signal,
      metrics,
      new SystemClock(),
      { pollIntervalMs: 60_000, ...options },
    );
    return relay;
  };

  beforeEach(() => {
    repository = new FakeOutboxRepository();
    publisher = new FakePublisher();
    signal = new OutboxSignal();
    metrics = new OutboxMetrics(new Registry());
  });

  afterEach(async () => {
    publisher.timeOutHanging();
    await relay?.stop();
  });

  describe('relayBatch', () => {
    it('marks sent only what the broker confirmed and schedules the rest for a retry', async () => {
      repository.add(3);
      const refused = repository.rows[1].id;
      publisher.refuse.add(refused);
      build({ backoff: { baseMs: 1000, maxMs: 30_000 } });

      const result = await relay.relayBatch();

      expect(result).toEqual({ claimed: 3, published: 2, failed: 1, unroutable: 0 });
      expect(repository.rows.map((r) => r.sent)).toEqual([true, false, true]);
      const failed = repository.rows[1];
      expect(failed).toEqual(expect.objectContaining({ attempts: 1, lastError: 'nacked' }));
      expect(failed.availableAt - Date.now()).toBeGreaterThan(900);
      expect(failed.availableAt - Date.now()).toBeLessThanOrEqual(1000);
    });

    it('publishes with the event id, event type and the stored payload', async () => {
      repository.add(1);
      build();
      await relay.relayBatch();
      const [row] = repository.rows;
      expect(publisher.published).toEqual([
        {
          exchange: 'orchestrator',
          routingKey: 'orchestrator.workflow_completed',
          eventId: row.id,
          eventType: 'orchestrator_workflow_completed',
          createdAt: row.createdAt,
          payload: row.payload,
        },
      ]);
    });

    it('never hands the broker a row for an exchange it does not declare', async () => {
      repository.add(2);
      repository.rows[0].exchange = 'somewhere_else';
      build();

      const result = await relay.relayBatch();

      expect(result).toEqual({ claimed: 2, published: 1, failed: 1, unroutable: 0 });
      expect(publisher.published.map((e) => e.exchange)).toEqual(['orchestrator']);
      expect(repository.rows[0]).toEqual(
        expect.objectContaining({
          sent: false,
          attempts: 1,
          lastError: 'exchange "somewhere_else" is not one the relay declares',
        }),
      );
    });

    it('records an attempt with the reason when the broker is not connected', async () => {
      repository.add(2);
      publisher.ready = false;
      build();

      const result = await relay.relayBatch();

      expect(result).toEqual({ claimed: 2, published: 0, failed: 2, unroutable: 0 });
      expect(publisher.published).toEqual([]);
      expect(repository.rows.map((r) => [r.sent, r.attempts, r.lastError])).toEqual([
        [false, 1, 'RabbitMQ unavailable: not connected'],
        [false, 1, 'RabbitMQ unavailable: not connected'],
      ]);
    });

    it('backs off longer after every failure, up to the cap', async () => {
      repository.add(1);
      publisher.ready = false;
      build({ backoff: { baseMs: 1000, maxMs: 4000 } });
      const delays: number[] = [];
      for (let i = 0; i < 4; i++) {
        repository.rows[0].availableAt = 0;
        await relay.relayBatch();
        delays.push(Math.round((repository.rows[0].availableAt - Date.now()) / 1000));
      }
      expect(delays).toEqual([1, 2, 4, 4]);
      expect(repository.rows[0].attempts).toBe(4);
    });

    it('records an event the broker returned as unroutable, never as sent, and retries it with jitter', async () => {
      repository.add(2);
      const returned = repository.rows[0];
      publisher.unbound.add(returned.id);
      build({ unroutableBackoff: { baseMs: 2000, maxMs: 60_000 }, random: () => 0.5 });

      const result = await relay.relayBatch();

      expect(result).toEqual({ claimed: 2, published: 1, failed: 0, unroutable: 1 });
      expect(returned).toEqual(
        expect.objectContaining({
          sent: false,
          status: 'unroutable',
          attempts: 1,
          lastError: 'returned: NO_ROUTE',
        }),
      );
      // half of the 2 s first delay: the jitter draw, not the bare exponential
      expect(returned.availableAt - Date.now()).toBeGreaterThan(900);
      expect(returned.availableAt - Date.now()).toBeLessThanOrEqual(1000);
      expect(repository.rows[1].status).toBe('sent');
    });

    it('delivers a once-unroutable event when it routes on a later attempt', async () => {
      repository.add(1);
      const [row] = repository.rows;
      publisher.unbound.add(row.id);
      build({ random: () => 0 });
      await relay.relayBatch();
      publisher.unbound.clear();

      await relay.relayBatch();

      expect(row).toEqual(expect.objectContaining({ sent: true, status: 'sent', attempts: 1 }));
      expect(publisher.published.map((e) => e.eventId)).toEqual([row.id]);
    });

    it('counts unroutable events by exchange and routing key', async () => {
      repository.add(3);
      for (const r of repository.rows) publisher.unbound.add(r.id);
      build();
      await relay.relayBatch();
      expect((await metrics.unroutable.get()).values).toEqual([
        expect.objectContaining({
          labels: { exchange: 'orchestrator', routing_key: 'orchestrator.workflow_completed' },
          value: 3,
        }),
      ]);
      expect((await metrics.published.get()).values).toEqual([]);
    });

    it('counts published events and failures by exchange and routing key', async () => {
      repository.add(3);
      publisher.refuse.add(repository.rows[0].id);
      build();
      await relay.relayBatch();
      const labels = { exchange: 'orchestrator', routing_key: 'orchestrator.workflow_completed' };
      expect((await metrics.published.get()).values).toEqual([
        expect.objectContaining({ labels, value: 2 }),
      ]);
      expect((await metrics.publishFailures.get()).values).toEqual([
        expect.objectContaining({ labels, value: 1 }),
      ]);
    });
  });

  describe('the loop', () => {
    it('does not start without RabbitMQ', () => {
      publisher.isConfigured = false;
      build();
      expect(relay.start()).toBe(false);
      expect(relay.isRunning).toBe(false);
      expect(repository.claims).toBe(0);
    });

    it('goes straight back for more while batches come back full', async () => {
      repository.add(1050);
      build({ batchSize: 100 });
      relay.start();
      // with a 60 s poll interval this only finishes if the loop never sleeps between batches
      await until(() => repository.sentCount === 1050, 3000);
      expect(publisher.published).toHaveLength(1050);
    });

    it('wakes up when rung instead of waiting out the poll interval', async () => {
      build();
      relay.start();
      await until(() => repository.claims >= 1);
      repository.add(5);
      signal.notify();
      await until(() => repository.sentCount === 5, 2000);
      expect(publisher.published).toHaveLength(5);
    });

    it('survives a failing database and carries on', async () => {
      repository.failNextClaim = new Error('connection terminated');
      repository.add(2);
      build({ pollIntervalMs: 10 });
      relay.start();
      await until(() => repository.sentCount === 2);
      expect(repository.claims).toBeGreaterThanOrEqual(2);
    });

    it('abandons a batch the broker never confirms on stop, without marking it sent', async () => {
      repository.add(3);
      publisher.hang = true;
      build({ stopTimeoutMs: 50 });
      relay.start();
      await until(() => repository.claims >= 1);

      await relay.stop();

      expect(relay.isRunning).toBe(false);
      expect(repository.sentCount).toBe(0);
    });

    it('finishes the in-flight batch on stop and claims nothing after it', async () => {
      repository.add(3);
      publisher.hang = true;
      build({ stopTimeoutMs: 5000 });
      relay.start();
      await until(() => repository.claims >= 1);
      const stopped = relay.stop();
      publisher.timeOutHanging();
      await stopped;
      const claims = repository.claims;

      expect(repository.sentCount).toBe(0);
      expect(repository.rows.every((r) => r.attempts === 1 && r.lastError === 'timeout')).toBe(
        true,
      );
      await new Promise((r) => setTimeout(r, 20));
      expect(repository.claims).toBe(claims);
    });
  });
});
