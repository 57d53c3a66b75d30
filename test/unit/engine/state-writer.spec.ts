import type { FinalState, LogRow, StepRow } from 'src/executions/executions.repository';
import { AppConfig } from 'src/config/app-config.service';
import { validateEnv } from 'src/config/validate-env';
import { StateWriter } from 'src/executions/runner/state-writer';
import { FakeExecutionStore, settle } from '../../fakes/engine';

const at = new Date('2026-06-01T05:00:00Z');

const step = (executionId: string, stepName: string): StepRow => ({
  executionId,
  stepName,
  stepIndex: 0,
  status: 'completed',
  result: { ok: true },
  errorMessage: null,
  startedAt: at,
  completedAt: at,
});

const log = (executionId: string, message: string): LogRow => ({
  executionId,
  stepName: 'forecast',
  stepIndex: 0,
  level: 'info',
  message,
  data: null,
  at,
});

const final = (id: string, owner: string): FinalState => ({
  id,
  owner,
  status: 'completed',
  completedAt: at,
  durationSeconds: 3,
  stepsCompleted: 1,
  stepsFailed: 0,
  errorMessage: null,
  resultSummary: { steps: { forecast: 'completed' } },
  attempt: 1,
  nextAttemptAt: null,
});

/** Tracks whether a promise has settled, without waiting for it. */
function watch<T>(p: Promise<T>) {
  const w = { settled: false, outcome: undefined as 'resolved' | 'rejected' | undefined };
  p.then(
    () => Object.assign(w, { settled: true, outcome: 'resolved' }),
    () => Object.assign(w, { settled: true, outcome: 'rejected' }),
  );
  return w;
}

function setup(commitIntervalMs?: number) {
  const store = new FakeExecutionStore();
  const config =
    commitIntervalMs === undefined
      ? undefined
      : new AppConfig({
          ...validateEnv({}),
          // beyond what the variable accepts, so a wait for it would outlast the test
          STATE_COMMIT_INTERVAL_MS: commitIntervalMs,
        });
  return { store, writer: new StateWriter(store.asRepository(), config) };
}

const stepNames = (store: FakeExecutionStore) =>
  store.batches.map((b) => b.steps.map((s) => s.stepName));

describe(StateWriter.name, () => {
  describe('write', () => {
    it('commits what is handed over in one tick as one batch, in the order given', async () => {
      const { store, writer } = setup();
      await Promise.all([
        writer.write({ steps: [step('e1', 'forecast')], logs: [log('e1', 'one')] }),
        writer.write({ steps: [step('e2', 'forecast'), step('e2', 'production')] }),
        writer.write({ logs: [log('e3', 'three')] }),
      ]);
      expect(stepNames(store)).toEqual([['forecast', 'forecast', 'production']]);
      expect(store.batches[0].steps.map((s) => s.executionId)).toEqual(['e1', 'e2', 'e2']);
      expect(store.batches[0].logs.map((l) => l.message)).toEqual(['one', 'three']);
    });

    it('gathers what is handed over during a commit into the next batch', async () => {
      const { store, writer } = setup();
      const gate = store.holdNextCommit();
      const first = watch(writer.write({ steps: [step('e1', 'a')] }));
      await settle();
      const second = watch(writer.write({ steps: [step('e2', 'b')] }));
      await settle();
      const third = watch(writer.write({ steps: [step('e3', 'c')] }));
      await settle();
      // one commit at a time: b and c wait for a's
      expect(stepNames(store)).toEqual([['a']]);
      expect([first.settled, second.settled, third.settled]).toEqual([false, false, false]);

      gate.resolve();
      await settle();
      expect(stepNames(store)).toEqual([['a'], ['b', 'c']]);
      expect([first.outcome, second.outcome, third.outcome]).toEqual([
        'resolved',
        'resolved',
        'resolved',
      ]);
    });

    it('resolves a write only once its own batch is committed', async () => {
      const { store, writer } = setup();
      store.holdNextCommit().resolve();
      const secondGate = store.holdNextCommit();
      await writer.write({ steps: [step('e1', 'a')] });
      const second = watch(writer.write({ steps: [step('e2', 'b')] }));
      await settle();
      expect(stepNames(store)).toEqual([['a'], ['b']]);
      expect(second.settled).toBe(false);
      secondGate.resolve();
      await settle();
      expect(second.outcome).toBe('resolved');
    });

    it('tells each writer which final states were applied (the lease still held)', async () => {
      const { store, writer } = setup();
      store.add({ id: 'e1', tenantId: 't1', leaseOwner: 'instance-a' });
      store.add({ id: 'e2', tenantId: 't2', leaseOwner: 'instance-b' });
      const [mine, lost] = await Promise.all([
        writer.write({ finals: [final('e1', 'instance-a')] }),
        writer.write({ finals: [final('e2', 'instance-a')] }),
      ]);
      expect([...mine]).toEqual(['e1']);
      expect(lost.has('e2')).toBe(false);
      expect(store.get('e1')).toMatchObject({ status: 'completed', leaseOwner: null });
      expect(store.get('e2')).toMatchObject({ status: 'running', leaseOwner: 'instance-b' });
    });

    it('rejects every write of a failed batch with its error', async () => {
      const { store, writer } = setup();
      store.failNextCommit(new Error('connection terminated'));
      const reasons: unknown[] = [];
      const writes = [
        writer.write({ steps: [step('e1', 'a')] }),
        writer.write({ finals: [final('e2', 'instance-a')] }),
        writer.write({ logs: [log('e3', 'x')] }),
      ].map((w) => w.catch((err: unknown) => reasons.push(err)));
      await settle();
      expect(reasons).toEqual([
        new Error('connection terminated'),
        new Error('connection terminated'),
        new Error('connection terminated'),
      ]);
      await Promise.all(writes);
    });

    it('commits the batch gathered behind a failed one', async () => {
      const { store, writer } = setup();
      const gate = store.holdNextCommit();
      store.failNextCommit(new Error('connection terminated'));
      const failed = writer.write({ steps: [step('e1', 'a')] });
      await settle();
      const next = writer.write({ steps: [step('e2', 'b')] });
      gate.resolve();
      await expect(failed).rejects.toThrow('connection terminated');
      await expect(next).resolves.toBeInstanceOf(Set);
      expect(stepNames(store)).toEqual([['a'], ['b']]);
    });
  });

  describe('the commit interval (STATE_COMMIT_INTERVAL_MS)', () => {
    it('commits a write at once when the last commit is older than the interval', async () => {
      const { store, writer } = setup(3_600_000);
      await writer.write({ steps: [step('e1', 'a')] });
      expect(stepNames(store)).toEqual([['a']]);
    });

    it('gathers the writes of the interval that follows a commit into one batch', async () => {
      const { store, writer } = setup(50);
      await writer.write({ steps: [step('e1', 'a')] });
      const second = writer.write({ steps: [step('e2', 'b')] });
      await settle();
      const third = writer.write({ steps: [step('e3', 'c')] });
      await settle();
      // with no interval, b would have gone alone as soon as a was committed
      expect(stepNames(store)).toEqual([['a']]);
      await Promise.all([second, third]);
      expect(stepNames(store)).toEqual([['a'], ['b', 'c']]);
    });

    it('does not wait for the interval once a full batch is waiting', async () => {
      const { store, writer } = setup(3_600_000);
      await writer.write({ steps: [step('e0', 'a')] });
      const full = Array.from({ length: 500 }, (_, i) =>
        watch(writer.write({ steps: [step(`e${i + 1}`, 'a')] })),
      );
      await settle();
      expect(store.batches.map((b) => b.steps.length)).toEqual([1, 500]);
      expect(full.every((w) => w.outcome === 'resolved')).toBe(true);
    });

    it('writes what waits for the interval at once when the application shuts down', async () => {
      const { store, writer } = setup(3_600_000);
      await writer.write({ steps: [step('e1', 'a')] });
      const waiting = watch(writer.write({ steps: [step('e2', 'b')] }));
      await settle();
      expect(waiting.settled).toBe(false);
      await writer.beforeApplicationShutdown();
      expect(stepNames(store)).toEqual([['a'], ['b']]);
      await settle();
      expect(waiting.outcome).toBe('resolved');
    });
  });

  describe('beforeApplicationShutdown', () => {
    it('returns at once when nothing is waiting to be written', async () => {
      const { store, writer } = setup();
      await writer.beforeApplicationShutdown();
      expect(store.batches).toEqual([]);
    });

    it('waits until everything handed over is written, the queued batches too', async () => {
      const { store, writer } = setup();
      const gate = store.holdNextCommit();
      const first = watch(writer.write({ steps: [step('e1', 'a')] }));
      await settle();
      const queued = watch(writer.write({ steps: [step('e2', 'b')] }));
      const shutdown = watch(writer.beforeApplicationShutdown());
      await settle();
      expect(shutdown.settled).toBe(false);

      gate.resolve();
      await settle();
      expect(shutdown.settled).toBe(true);
      expect(stepNames(store)).toEqual([['a'], ['b']]);
      expect([first.outcome, queued.outcome]).toEqual(['resolved', 'resolved']);
    });

    it('waits for a write handed over in the same tick, before its batch started', async () => {
      const { store, writer } = setup();
      const write = watch(writer.write({ steps: [step('e1', 'a')] }));
      await writer.beforeApplicationShutdown();
      expect(stepNames(store)).toEqual([['a']]);
      await settle(1);
      expect(write.outcome).toBe('resolved');
    });

    it('returns once the last commit ends, even when it failed', async () => {
      const { store, writer } = setup();
      store.failNextCommit(new Error('connection terminated'));
      const write = writer.write({ steps: [step('e1', 'a')] }).catch((err: Error) => err);
      await writer.beforeApplicationShutdown();
      expect(await write).toEqual(new Error('connection terminated'));
    });
  });
});
