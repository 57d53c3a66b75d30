import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source';
import {
  DeliveryAlertRepository,
  NewDeliveryAlert,
} from 'src/delivery-tracking/delivery-alert.repository';
import { DeliveryRunRepository } from 'src/delivery-tracking/delivery-run.repository';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const T0 = new Date('2025-11-26T14:30:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

function alert(overrides: Partial<NewDeliveryAlert> = {}): NewDeliveryAlert {
  return {
    eventId: randomUUID(),
    purchaseOrderId: 'po-1',
    poNumber: 'PO-2025-041',
    alertType: 'DELIVERY_OVERDUE',
    expectedDelivery: minutes(-90),
    sentAt: T0,
    ...overrides,
  };
}

/** The same behaviour on both databases the service runs on. */
function repositoryBehaviour(kind: string, open: () => Promise<DataSource>) {
  describe(`on ${kind}`, () => {
    let ds: DataSource;
    let alerts: DeliveryAlertRepository;
    let runs: DeliveryRunRepository;
    const tenant = randomUUID();

    beforeAll(async () => {
      ds = await open();
      alerts = new DeliveryAlertRepository(ds);
      runs = new DeliveryRunRepository(ds);
    });
    afterAll(() => ds?.destroy());

    describe(DeliveryAlertRepository.name, () => {
      it('records a new alert once and publishes it inside the same transaction', async () => {
        const first = alert({ purchaseOrderId: 'po-once' });
        const published: string[] = [];
        const recorded = await alerts.recordNew(tenant, [first], async (tx, rows) => {
          // visible inside the transaction that publishes it
          const seen = await tx.query(
            `SELECT count(*)::int AS n FROM orchestrator_delivery_alerts WHERE event_id = $1`,
            [first.eventId],
          );
          expect(seen[0].n).toBe(1);
          published.push(...rows.map((r) => r.eventId));
        });
        expect(recorded.map((r) => r.eventId)).toEqual([first.eventId]);
        expect(published).toEqual([first.eventId]);

        const publish = jest.fn();
        const again = await alerts.recordNew(
          tenant,
          [alert({ purchaseOrderId: 'po-once' })],
          publish,
        );
        expect(again).toEqual([]);
        expect(publish).not.toHaveBeenCalled();
      });

      it('keeps only the new ones of a mixed batch', async () => {
        await alerts.recordNew(tenant, [alert({ purchaseOrderId: 'po-mix' })], async () => {});
        const fresh = alert({ purchaseOrderId: 'po-mix', alertType: 'STOCK_RECEIPT_INCOMPLETE' });
        const recorded = await alerts.recordNew(
          tenant,
          [alert({ purchaseOrderId: 'po-mix' }), fresh],
          async () => {},
        );
        expect(recorded.map((r) => r.eventId)).toEqual([fresh.eventId]);
      });

      it('treats a moved expected delivery as a new window', async () => {
        await alerts.recordNew(tenant, [alert({ purchaseOrderId: 'po-moved' })], async () => {});
        const moved = alert({ purchaseOrderId: 'po-moved', expectedDelivery: minutes(120) });
        expect(await alerts.recordNew(tenant, [moved], async () => {})).toHaveLength(1);
      });

      it('records nothing when publishing fails, so the next run retries', async () => {
        const doomed = alert({ purchaseOrderId: 'po-doomed' });
        await expect(
          alerts.recordNew(tenant, [doomed], async () => {
            throw new Error('outbox down');
          }),
        ).rejects.toThrow('outbox down');
        expect((await alerts.findSent(tenant, ['po-doomed'])).size).toBe(0);
        expect(await alerts.recordNew(tenant, [doomed], async () => {})).toHaveLength(1);
      });

      it('finds what was sent, by order, for this tenant only', async () => {
        const other = randomUUID();
        await alerts.recordNew(
          other,
          [alert({ purchaseOrderId: 'po-find', alertType: 'DELIVERY_ARRIVING_SOON' })],
          async () => {},
        );
        await alerts.recordNew(tenant, [alert({ purchaseOrderId: 'po-find' })], async () => {});
        const sent = await alerts.findSent(tenant, ['po-find', 'po-none']);
        expect([...sent.keys()]).toEqual(['po-find']);
        expect(sent.get('po-find')).toEqual([
          { alert_type: 'DELIVERY_OVERDUE', expected_delivery: minutes(-90) },
        ]);
      });
    });

    describe(DeliveryRunRepository.name, () => {
      it('refuses a second run while one is active, then allows one after it finished', async () => {
        const first = await runs.tryStart({
          trigger: 'cli',
          holder: 'pod-a',
          startedAt: T0,
          leaseExpiresAt: minutes(31),
        });
        expect(first.started).toBe(true);
        const second = await runs.tryStart({
          trigger: 'cron',
          holder: 'pod-b',
          startedAt: minutes(1),
          leaseExpiresAt: minutes(32),
        });
        expect(second).toEqual({
          started: false,
          active: expect.objectContaining({ holder: 'pod-a', trigger: 'cli' }),
        });

        await runs.finish((first as { runId: string }).runId, {
          status: 'completed',
          finishedAt: minutes(2),
          summary: { tenants: 3 },
          errorMessage: null,
        });
        const third = await runs.tryStart({
          trigger: 'cron',
          holder: 'pod-b',
          startedAt: minutes(3),
          leaseExpiresAt: minutes(33),
        });
        expect(third.started).toBe(true);
        await runs.finish((third as { runId: string }).runId, {
          status: 'failed',
          finishedAt: minutes(4),
          summary: null,
          errorMessage: 'boom',
        });
        const recent = await runs.listRecent(2);
        expect(recent.map((r) => [r.holder, r.status])).toEqual([
          ['pod-b', 'failed'],
          ['pod-a', 'completed'],
        ]);
        expect(recent[1].summary).toEqual({ tenants: 3 });
      });

      it('takes over from a run whose lease expired, marking it abandoned', async () => {
        const dead = await runs.tryStart({
          trigger: 'cli',
          holder: 'pod-dead',
          startedAt: minutes(100),
          leaseExpiresAt: minutes(131),
        });
        expect(dead.started).toBe(true);
        const blocked = await runs.tryStart({
          trigger: 'cli',
          holder: 'pod-new',
          startedAt: minutes(130),
          leaseExpiresAt: minutes(161),
        });
        expect(blocked.started).toBe(false);
        const next = await runs.tryStart({
          trigger: 'cli',
          holder: 'pod-new',
          startedAt: minutes(131),
          leaseExpiresAt: minutes(162),
        });
        expect(next.started).toBe(true);
        const recent = await runs.listRecent(2);
        expect(recent.map((r) => [r.holder, r.status])).toEqual([
          ['pod-new', 'running'],
          ['pod-dead', 'abandoned'],
        ]);
        await runs.finish((next as { runId: string }).runId, {
          status: 'completed',
          finishedAt: minutes(140),
          summary: {},
          errorMessage: null,
        });
      });
    });
  });
}

describeWith(['postgres'], 'delivery-tracking repositories', () => {
  let db: TestDatabase;
  const opened: DataSource[] = [];
  const openPostgres = async () => {
    const ds = new DataSource(buildDataSourceOptions({ DATABASE_URL: db.url, DATA_DIR: '' }));
    await ds.initialize();
    opened.push(ds);
    return ds;
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await Promise.all(opened.filter((d) => d.isInitialized).map((d) => d.destroy()));
    await db?.drop();
  });

  repositoryBehaviour('PostgreSQL', openPostgres);

  let dataDir: string;
  afterAll(() => dataDir && rmSync(dataDir, { recursive: true, force: true }));
  repositoryBehaviour('embedded PGlite', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'orch-delivery-'));
    const ds = new DataSource(
      buildDataSourceOptions({ DATABASE_URL: undefined, DATA_DIR: dataDir }),
    );
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    return ds;
  });

  describe('two replicas racing on PostgreSQL', () => {
    it('records and publishes each alert exactly once', async () => {
      const [a, b] = [await openPostgres(), await openPostgres()];
      const tenant = randomUUID();
      const keys = Array.from({ length: 20 }, (_, i) => `po-race-${i}`);
      const published: string[] = [];
      const race = (ds: DataSource, reversed: boolean) =>
        new DeliveryAlertRepository(ds).recordNew(
          tenant,
          (reversed ? [...keys].reverse() : keys).map((k) => alert({ purchaseOrderId: k })),
          async (_tx, rows) => {
            published.push(...rows.map((r) => r.purchaseOrderId));
          },
        );
      const [ra, rb] = await Promise.all([race(a, false), race(b, true)]);
      expect(ra.length + rb.length).toBe(20);
      expect([...published].sort()).toEqual([...keys].sort());
    });

    it('lets exactly one of two simultaneous runs start', async () => {
      const [a, b] = [await openPostgres(), await openPostgres()];
      const start = (ds: DataSource, holder: string) =>
        new DeliveryRunRepository(ds).tryStart({
          trigger: 'cli',
          holder,
          startedAt: minutes(1000),
          leaseExpiresAt: minutes(1030),
        });
      const outcomes = await Promise.all([start(a, 'pod-a'), start(b, 'pod-b')]);
      expect(outcomes.filter((o) => o.started)).toHaveLength(1);
    });
  });
});
