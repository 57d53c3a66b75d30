import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { OutboxMessage, ORCHESTRATOR_EXCHANGE } from 'src/events/event-contracts';
import { OutboxErrorCode } from 'src/events/outbox.errors';
import { OutboxMetrics } from 'src/events/outbox-metrics';
import { OutboxRepository } from 'src/events/outbox.repository';
import { OutboxService } from 'src/events/outbox.service';
import { OutboxSignal } from 'src/events/outbox-signal';
import {
  OpenedDataSource,
  openPgliteDataSource,
  openPostgresDataSource,
} from '../utils/data-sources';
import { describeWith } from '../utils/services';

const message = (n: number, extra: Record<string, unknown> = {}): OutboxMessage => ({
  exchange: ORCHESTRATOR_EXCHANGE,
  routingKey: 'orchestrator.workflow_completed',
  payload: { event_type: 'orchestrator_workflow_completed', n, ...extra },
});

interface OutboxRow {
  id: string;
  payload: Record<string, any>;
  attempts: number;
  last_error: string | null;
  sent_at: Date | null;
  due_in_ms: number;
}

/** The same behaviour on both databases the service runs on. */
function outboxSuite(
  kind: string,
  open: () => Promise<{ ds: DataSource; close(): Promise<void> }>,
) {
  let ds: DataSource;
  let close: () => Promise<void>;
  let repository: OutboxRepository;
  let signal: OutboxSignal;
  let outbox: OutboxService;
  let metricsRegistry: Registry;

  const rows = (): Promise<OutboxRow[]> =>
    ds.query(
      `SELECT id, payload, attempts, last_error, sent_at,
              (EXTRACT(EPOCH FROM available_at - now()) * 1000)::float8 AS due_in_ms
         FROM orchestrator_outbox ORDER BY created_at, (payload->>'n')::int`,
    );

  beforeAll(async () => {
    ({ ds, close } = await open());
    repository = new OutboxRepository(ds);
    signal = new OutboxSignal();
    metricsRegistry = new Registry();
    outbox = new OutboxService(repository, signal, new OutboxMetrics(metricsRegistry));
  });

  afterAll(async () => {
    await close?.();
  });

  beforeEach(async () => {
    await ds.query('DELETE FROM orchestrator_outbox');
    await signal.wait(0); // forget a ring left by the previous test
  });

  describe(`enqueue on ${kind}`, () => {
    it('writes nothing when the caller transaction rolls back', async () => {
      await expect(
        ds.transaction(async (tx) => {
          await outbox.enqueue(tx, [message(1), message(2)]);
          throw new Error('state change failed');
        }),
      ).rejects.toThrow('state change failed');
      expect(await rows()).toEqual([]);
    });

    it('writes every message with its event_id when the transaction commits', async () => {
      const ids = await ds.transaction((tx) =>
        outbox.enqueue(tx, [message(1), message(2), message(3)]),
      );
      const stored = await rows();
      expect(ids).toHaveLength(3);
      expect(new Set(ids).size).toBe(3);
      expect(stored.map((r) => r.payload.event_id)).toEqual(ids);
      expect(stored.map((r) => r.payload.n)).toEqual([1, 2, 3]);
      expect(stored[0]).toEqual(
        expect.objectContaining({ attempts: 0, last_error: null, sent_at: null }),
      );
    });

    it('keeps an event_id the caller chose', async () => {
      const chosen = '11111111-2222-4333-8444-555555555555';
      const ids = await ds.transaction((tx) =>
        outbox.enqueue(tx, [message(1, { event_id: chosen })]),
      );
      expect(ids).toEqual([chosen]);
      expect((await rows())[0].payload.event_id).toBe(chosen);
    });

    it('writes 2,500 messages in one call', async () => {
      const many = Array.from({ length: 2500 }, (_, i) => message(i));
      const ids = await ds.transaction((tx) => outbox.enqueue(tx, many));
      expect(ids).toHaveLength(2500);
      expect((await rows()).map((r) => r.payload.n)).toEqual(many.map((_, i) => i));
    });

    it('refuses a message for an exchange the relay does not declare, writing nothing', async () => {
      const bad = { ...message(2), exchange: 'nowhere' };
      const attempt = ds.transaction((tx) => outbox.enqueue(tx, [message(1), bad]));
      await expect(attempt).rejects.toMatchObject({
        code: OutboxErrorCode.InvalidMessage,
        message: expect.stringContaining('outbox message 1: exchange "nowhere"'),
      });
      expect(await rows()).toEqual([]);
    });

    it('refuses a payload that is not JSON', async () => {
      const bad = message(1, { big: BigInt(1) });
      await expect(ds.transaction((tx) => outbox.enqueue(tx, [bad]))).rejects.toMatchObject({
        code: OutboxErrorCode.InvalidMessage,
      });
    });

    it('wakes the relay only once the transaction has committed', async () => {
      let rungBeforeCommit: boolean | null = null;
      await ds.transaction(async (tx) => {
        await outbox.enqueue(tx, [message(1)]);
        rungBeforeCommit = await signal.wait(0);
      });
      expect(rungBeforeCommit).toBe(false);
      expect(await signal.wait(0)).toBe(true);
    });

    it('does not wake the relay for a transaction that rolled back', async () => {
      await ds
        .transaction(async (tx) => {
          await outbox.enqueue(tx, [message(1)]);
          throw new Error('rolled back');
        })
        .catch(() => undefined);
      expect(await signal.wait(0)).toBe(false);
    });

    it('wakes the relay after the outer commit, not after a released savepoint', async () => {
      let rungInside: boolean | null = null;
      await ds.transaction(async (tx) => {
        await tx.transaction(async (inner) => {
          await outbox.enqueue(inner, [message(1)]);
        });
        rungInside = await signal.wait(0);
      });
      expect(rungInside).toBe(false);
      expect(await signal.wait(0)).toBe(true);
      expect(await rows()).toHaveLength(1);
    });
  });

  describe(`relay queries on ${kind}`, () => {
    // one transaction each; created_at is the transaction's now(), which PGlite's clock
    // may repeat for transactions a microsecond apart, so the test spreads them out
    const enqueue = async (count: number) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        ids.push(...(await ds.transaction((tx) => outbox.enqueue(tx, [message(i)]))));
      }
      await ds.query(
        `UPDATE orchestrator_outbox SET created_at = now() - interval '1 hour' + (payload->>'n')::int * interval '1 second'`,
      );
      return ids;
    };
    const byId = async (id: string) => (await rows()).find((r) => r.id === id)!;

    it('claims due rows oldest first and hides them for the lease', async () => {
      const ids = await enqueue(5);
      const first = await repository.claim(3, 60_000);
      const second = await repository.claim(3, 60_000);
      const third = await repository.claim(3, 60_000);
      expect(first.map((r) => r.payload.event_id)).toEqual(ids.slice(0, 3));
      expect(second.map((r) => r.payload.event_id)).toEqual(ids.slice(3));
      expect(third).toEqual([]);
      expect(first[0]).toEqual(
        expect.objectContaining({
          exchange: ORCHESTRATOR_EXCHANGE,
          routingKey: 'orchestrator.workflow_completed',
          attempts: 0,
          createdAt: expect.any(Date),
        }),
      );
    });

    it('marks sent rows and never claims them again', async () => {
      await enqueue(2);
      const claimed = await repository.claim(10, 0);
      expect(await repository.markSent([claimed[0].id])).toBe(1);
      const again = await repository.claim(10, 0);
      expect(again.map((r) => r.id)).toEqual([claimed[1].id]);
      expect((await byId(claimed[0].id)).sent_at).toBeInstanceOf(Date);
    });

    it('records a failure: one more attempt, the reason, due again after the delay', async () => {
      await enqueue(2);
      const claimed = await repository.claim(10, 60_000);
      await repository.markFailed([
        { id: claimed[0].id, delayMs: 0, error: 'RabbitMQ unavailable' },
        { id: claimed[1].id, delayMs: 30_000, error: "it's 'quoted', \"twice\"" },
      ]);
      const a = await byId(claimed[0].id);
      const b = await byId(claimed[1].id);
      expect(a).toEqual(
        expect.objectContaining({ attempts: 1, last_error: 'RabbitMQ unavailable' }),
      );
      expect(b).toEqual(
        expect.objectContaining({ attempts: 1, last_error: "it's 'quoted', \"twice\"" }),
      );
      expect(a.due_in_ms).toBeLessThanOrEqual(0);
      expect(b.due_in_ms).toBeGreaterThan(25_000);
      expect((await repository.claim(10, 0)).map((r) => r.id)).toEqual([claimed[0].id]);
    });

    it('reports the backlog: unsent rows and the age of the oldest', async () => {
      expect(await repository.backlog()).toEqual({ unsent: 0, oldestAgeSeconds: 0 });
      await enqueue(3); // created 3600, 3599 and 3598 s ago
      const [oldest] = await repository.claim(1, 0);
      await repository.markSent([oldest.id]);
      const backlog = await outbox.backlog();
      expect(oldest.payload.n).toBe(0);
      expect(backlog.unsent).toBe(2);
      expect(backlog.oldestAgeSeconds).toBeGreaterThanOrEqual(3599);
      expect(backlog.oldestAgeSeconds).toBeLessThan(3610);
    });

    it('serves the backlog as Prometheus gauges', async () => {
      await enqueue(4);
      const text = await metricsRegistry.metrics();
      expect(text).toContain('orchestrator_outbox_backlog 4');
      expect(text).toMatch(/orchestrator_outbox_oldest_unsent_age_seconds \d/);
    });

    it('deletes sent rows older than the retention, and only those', async () => {
      await enqueue(3);
      const claimed = await repository.claim(2, 0);
      await repository.markSent(claimed.map((r) => r.id));
      await ds.query(
        `UPDATE orchestrator_outbox SET sent_at = now() - interval '8 days' WHERE id = $1`,
        [claimed[0].id],
      );
      expect(await repository.purgeSent(7 * 24 * 3600 * 1000, 100)).toBe(1);
      expect((await rows()).map((r) => r.id)).not.toContain(claimed[0].id);
      expect(await rows()).toHaveLength(2);
    });

    it('reports undelivered unroutable rows per exchange with the oldest, and forgets delivered ones', async () => {
      expect(await outbox.unroutable()).toEqual([]);
      const ids = await enqueue(4);
      await ds.query(
        `UPDATE orchestrator_outbox SET routing_key = 'orchestrator.unbound_b' WHERE id = $1`,
        [ids[3]],
      );
      const claimed = await repository.claim(10, 0);
      // rows 0, 1 and 3 come back unroutable, row 2 fails otherwise (still pending)
      await repository.markUnroutable(
        [ids[0], ids[1], ids[3]].map((id) => ({ id, delayMs: 0, error: '312 NO_ROUTE' })),
      );
      await repository.markFailed([{ id: ids[2], delayMs: 0, error: 'timeout' }]);
      expect(claimed).toHaveLength(4);
      const [oldest] = await ds.query(`SELECT created_at FROM orchestrator_outbox WHERE id = $1`, [
        ids[0],
      ]);

      const [report] = await outbox.unroutable();
      expect(await outbox.unroutable()).toHaveLength(1);
      expect(report).toEqual({
        exchange: ORCHESTRATOR_EXCHANGE,
        count: 3,
        routingKeys: ['orchestrator.workflow_completed', 'orchestrator.unbound_b'],
        oldestCreatedAt: new Date(oldest.created_at),
        oldestAgeSeconds: expect.any(Number),
        oldestRoutingKey: 'orchestrator.workflow_completed',
      });
      // enqueue backdated the rows by about an hour
      expect(report.oldestAgeSeconds).toBeGreaterThan(3500);

      await repository.markSent([ids[0], ids[1], ids[3]]);
      expect(await outbox.unroutable()).toEqual([]);
    });
  });
}

describeWith(['postgres'], 'outbox on PostgreSQL', () => {
  outboxSuite('PostgreSQL', () => openPostgresDataSource());

  describe('concurrent claims', () => {
    let ds: DataSource;
    let repository: OutboxRepository;
    let outbox: OutboxService;
    let opened: OpenedDataSource | undefined;

    // a database of its own, with a pool wide enough for every claimer at once
    beforeAll(async () => {
      opened = await openPostgresDataSource(8);
      ds = opened.ds;
      repository = new OutboxRepository(ds);
      outbox = new OutboxService(repository, new OutboxSignal(), new OutboxMetrics(new Registry()));
    });
    afterAll(async () => {
      await opened?.close();
    });

    it('hands every row to exactly one of several claimers running at once', async () => {
      await ds.query('DELETE FROM orchestrator_outbox');
      await ds.transaction((tx) =>
        outbox.enqueue(
          tx,
          Array.from({ length: 1000 }, (_, i) => message(i)),
        ),
      );
      const claimers = Array.from({ length: 6 }, async () => {
        const mine: string[] = [];
        for (;;) {
          const batch = await repository.claim(25, 60_000);
          if (batch.length === 0) return mine;
          mine.push(...batch.map((r) => r.id));
        }
      });
      const results = await Promise.all(claimers);
      const all = results.flat();
      expect(all).toHaveLength(1000);
      expect(new Set(all).size).toBe(1000);
      expect(results.filter((r) => r.length > 0).length).toBeGreaterThan(1);
    });
  });
});

describe('outbox on embedded PGlite', () => {
  outboxSuite('PGlite', () => openPgliteDataSource('orch-outbox-'));
});
