import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { DataSource } from 'typeorm';
import { requestHash } from 'src/common/idempotency/idempotency-key';
import { IdempotencyRepository, KeyScope } from 'src/common/idempotency/idempotency.repository';
import { IdempotencyService } from 'src/common/idempotency/idempotency.service';
import { openPgliteDataSource, openPostgresDataSource } from '../utils/data-sources';
import { describeWith } from '../utils/services';
import { waitUntil } from '../utils/wait';

const HOUR = 3_600_000;
const scope = (key: string): KeyScope => ({
  route: 'POST /workflows/{id}/execute',
  target: 'daily_operations',
  subject: 'test-operator',
  key,
});
const command = (key: string, body: unknown) => ({ ...scope(key), body, status: 202 });

/** The key table's rules on both databases the service runs on. Expiry is the database's clock. */
function keySuite(kind: string, open: () => Promise<{ ds: DataSource; close(): Promise<void> }>) {
  let ds: DataSource;
  let close: () => Promise<void>;
  let repository: IdempotencyRepository;
  let service: IdempotencyService;
  const count = async () =>
    Number((await ds.query(`SELECT count(*)::int AS n FROM orchestrator_idempotency_keys`))[0].n);

  beforeAll(async () => {
    ({ ds, close } = await open());
    repository = new IdempotencyRepository(ds);
    service = new IdempotencyService(repository, new PeriodicJobs(new SchedulerRegistry()));
  });

  afterAll(async () => {
    await close?.();
  });

  beforeEach(async () => {
    await ds.query('DELETE FROM orchestrator_idempotency_keys');
  });

  describe(`claim on ${kind}`, () => {
    it('gives a key to one request only', async () => {
      expect(
        await repository.claim(scope('k1'), 'a'.repeat(64), crypto.randomUUID(), HOUR, HOUR),
      ).toBe(true);
      expect(
        await repository.claim(scope('k1'), 'a'.repeat(64), crypto.randomUUID(), HOUR, HOUR),
      ).toBe(false);
      // another caller, route or target has a key space of its own
      expect(
        await repository.claim(
          { ...scope('k1'), subject: 'someone-else' },
          'a'.repeat(64),
          crypto.randomUUID(),
          HOUR,
          HOUR,
        ),
      ).toBe(true);
    });

    it('treats an expired key as absent, whatever its body was', async () => {
      await repository.claim(scope('k2'), 'a'.repeat(64), crypto.randomUUID(), HOUR, -1000);
      expect(await repository.find(scope('k2'))).toBeNull();
      expect(
        await repository.claim(scope('k2'), 'b'.repeat(64), crypto.randomUUID(), HOUR, HOUR),
      ).toBe(true);
    });

    it('lets the same request take over a key whose holder stopped answering, not another one', async () => {
      const dead = crypto.randomUUID();
      await repository.claim(scope('k3'), 'a'.repeat(64), dead, -1000, HOUR);
      expect(
        await repository.claim(scope('k3'), 'b'.repeat(64), crypto.randomUUID(), HOUR, HOUR),
      ).toBe(false);
      expect(
        await repository.claim(scope('k3'), 'a'.repeat(64), crypto.randomUUID(), HOUR, HOUR),
      ).toBe(true);
      // the old holder can no longer store an answer over the new one's
      expect(await repository.complete(scope('k3'), dead, 202, { late: true })).toBe(false);
    });
  });

  describe(`run on ${kind}`, () => {
    it('runs the command once and answers a repeat with the first answer', async () => {
      let runs = 0;
      const handler = async () => ({ execution_id: `run-${++runs}`, status: 'running' });
      const first = await service.run(command('k4', { a: 1 }), handler);
      const again = await service.run(command('k4', { a: 1 }), handler);
      expect(first).toEqual({
        status: 202,
        body: { execution_id: 'run-1', status: 'running' },
        replayed: false,
      });
      expect(again).toEqual({ ...first, replayed: true });
      expect(runs).toBe(1);
    });

    it('refuses the key with another body (422)', async () => {
      await service.run(command('k5', { a: 1 }), async () => ({ ok: true }));
      await expect(
        service.run(command('k5', { a: 2 }), async () => ({ ok: true })),
      ).rejects.toMatchObject({
        code: 'IDEMPOTENCY_KEY_UNPROCESSABLE',
      });
    });

    it('stores no error: the key is given back and the request may be sent again', async () => {
      await expect(
        service.run(command('k6', {}), async () => {
          throw new Error('tenant service down');
        }),
      ).rejects.toThrow('tenant service down');
      expect(await service.run(command('k6', {}), async () => ({ ok: true }))).toMatchObject({
        body: { ok: true },
        replayed: false,
      });
    });

    it("keeps an answer stored in the command's transaction, though the command never returned", async () => {
      let runs = 0;
      const body = { execution_id: 'run-1', status: 'running' };
      // the command commits its work with its answer, then its process dies (never returns)
      void service.run(command('k8', {}), async () => {
        runs++;
        await ds.transaction((tx) => service.answerWithin(tx, body));
        return new Promise<never>(() => undefined);
      });
      await waitUntil(async () => (await repository.find(scope('k8')))?.state === 'completed');
      // a repeat gets that answer at once: no second run, no 409 "in progress"
      const again = await service.run(command('k8', {}), async () => ({ runs: ++runs }), 300);
      expect(again).toEqual({ status: 202, body, replayed: true });
      expect(runs).toBe(1);
    });

    it("stores nothing of an answer whose command's transaction rolled back", async () => {
      await expect(
        service.run(command('k9', {}), async () =>
          ds.transaction(async (tx) => {
            await service.answerWithin(tx, { execution_id: 'never' });
            throw new Error('a run of this workflow is in progress');
          }),
        ),
      ).rejects.toThrow('in progress');
      // the key was given back: the same request may be sent again
      expect(await repository.find(scope('k9'))).toBeNull();
    });

    it('gives no key back once its answer is stored, though the command failed after', async () => {
      await expect(
        service.run(command('k10', {}), async () => {
          await ds.transaction((tx) => service.answerWithin(tx, { execution_id: 'run-1' }));
          throw new Error('connection reset after the commit');
        }),
      ).rejects.toThrow('connection reset');
      expect(await service.run(command('k10', {}), async () => ({ again: true }))).toEqual({
        status: 202,
        body: { execution_id: 'run-1' },
        replayed: true,
      });
    });

    it('stores nothing without a key', async () => {
      await ds.transaction((tx) => service.answerWithin(tx, { execution_id: 'run-1' }));
      expect(await count()).toBe(0);
    });

    it('answers 409 when the first request with the key is still being processed past the wait', async () => {
      await repository.claim(scope('k7'), requestHash({}), crypto.randomUUID(), HOUR, HOUR);
      expect((await repository.find(scope('k7')))?.state).toBe('processing');
      await expect(
        service.run(command('k7', {}), async () => ({ ok: true }), 300),
      ).rejects.toMatchObject({
        code: 'IDEMPOTENCY_KEY_CONFLICT',
      });
    });
  });

  describe(`clean-up on ${kind}`, () => {
    it('deletes expired keys in bounded batches and keeps live ones', async () => {
      for (let i = 0; i < 5; i++) {
        await repository.claim(scope(`old-${i}`), 'a'.repeat(64), crypto.randomUUID(), HOUR, -1000);
      }
      await repository.claim(scope('live'), 'a'.repeat(64), crypto.randomUUID(), HOUR, HOUR);
      expect(await repository.deleteExpired(3)).toBe(3);
      expect(await count()).toBe(3);
      expect(await service.cleanUp()).toBe(2);
      expect(await count()).toBe(1);
      expect(await repository.find(scope('live'))).not.toBeNull();
    });
  });
}

describeWith(['postgres'], 'idempotency keys', () => {
  keySuite('PostgreSQL', () => openPostgresDataSource());
});

describe('idempotency keys', () => {
  keySuite('PGlite', () => openPgliteDataSource('orch-idempotency-'));
});
