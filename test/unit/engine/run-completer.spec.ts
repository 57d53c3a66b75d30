import { FakeClock } from '../../fakes/fake-clock';
import {
  ORCHESTRATOR_EXCHANGE,
  WORKFLOW_COMPLETED,
  WORKFLOW_FAILED,
} from 'src/events/event-contracts';
import type { ExecutionStatus } from 'src/executions/execution.entity';
import { ClosedRun, RunCompleter } from 'src/executions/runner/run-completer';
import { FakeExecutionStore, FakeOutbox, FakeWorkflowOutcomes } from '../../fakes/engine';

const now = new Date('2026-06-01T05:10:00Z');
/** the run was created two minutes before it closes */
const created = new Date(now.getTime() - 120_000);

interface Tenant {
  status: ExecutionStatus;
  stepsCompleted?: number;
  stepsFailed?: number;
  attempt?: number;
  errorMessage?: string;
  /** seconds before `now` it finished */
  finishedAgo?: number;
}

function setup(runs: Record<string, Tenant[]> = {}) {
  const store = new FakeExecutionStore();
  const outbox = new FakeOutbox(store);
  const clock = new FakeClock(now);
  const completer = () =>
    new RunCompleter(
      store.asRepository(),
      new FakeWorkflowOutcomes(store).asService(),
      outbox.asService(),
      clock,
    );
  for (const [runId, tenants] of Object.entries(runs)) addRun(store, runId, tenants);
  return { store, outbox, completer: completer(), another: completer };
}

/** The test with Jest's fake timers, real ones again after it whatever happens. */
const withFakeTimers = (test: () => Promise<void>) => async () => {
  jest.useFakeTimers();
  try {
    await test();
  } finally {
    jest.useRealTimers();
  }
};

/** One run all of whose tenants completed, whose first close will fail. */
function failingOnce() {
  const t = setup({ 'run-1': [ok] });
  t.outbox.failNext(new Error('connection terminated'));
  return t;
}

function addRun(store: FakeExecutionStore, runId: string, tenants: Tenant[]): void {
  store.add({ id: runId, status: 'running', createdAt: created, resultSummary: { tier: 'x' } });
  tenants.forEach((t, i) =>
    store.add({
      id: `${runId}-tenant-${i + 1}`,
      tenantId: `tenant-${i + 1}`,
      parentExecutionId: runId,
      status: t.status,
      stepsCompleted: t.stepsCompleted ?? 0,
      stepsFailed: t.stepsFailed ?? 0,
      attempt: t.attempt ?? 1,
      errorMessage: t.errorMessage ?? null,
      completedAt:
        t.finishedAgo !== undefined ? new Date(now.getTime() - t.finishedAgo * 1000) : null,
    }),
  );
}

const ok: Tenant = { status: 'completed', stepsCompleted: 5, finishedAgo: 10 };

describe(RunCompleter.name, () => {
  describe('flush', () => {
    it('closes a run whose tenants all completed, with one workflow_completed event', async () => {
      const { store, completer } = setup({ 'run-1': [ok, ok] });
      completer.request(['run-1']);
      const closed = await completer.flush();

      expect(closed.map((c) => [c.parent.id, c.status])).toEqual([['run-1', 'completed']]);
      expect(store.get('run-1')).toMatchObject({
        status: 'completed',
        completedAt: now,
        durationSeconds: 120,
        stepsCompleted: 10,
        stepsFailed: 0,
        errorMessage: null,
        resultSummary: {
          tier: 'x',
          tenants_processed: 2,
          tenants_succeeded: 2,
          tenants_failed: 0,
          tenants_cancelled: 0,
          steps_completed: 10,
          steps_failed: 0,
          retries: 0,
          duration_seconds: 120,
        },
      });
      expect(store.tables.events).toEqual([
        {
          exchange: ORCHESTRATOR_EXCHANGE,
          routingKey: WORKFLOW_COMPLETED,
          payload: {
            event_type: 'orchestrator_workflow_completed',
            workflow_name: 'daily_operations',
            execution_id: 'run-1',
            tenants_processed: 2,
            steps_completed: 10,
            steps_failed: 0,
            tenants_failed: 0,
            tenants_succeeded: 2,
            duration_seconds: 120,
            timestamp: now.toISOString(),
          },
        },
      ]);
      expect(store.tables.outcomes).toEqual([
        { workflowId: 'wf-1', outcome: 'completed', at: now },
      ]);
    });

    it('completes a run some of whose tenants failed, and counts the failures', async () => {
      const { store, completer } = setup({
        'run-1': [
          ok,
          {
            status: 'failed',
            stepsCompleted: 1,
            stepsFailed: 1,
            attempt: 4,
            errorMessage: 'production: answered 503',
            finishedAgo: 5,
          },
          {
            status: 'cancelled',
            errorMessage: 'cancelled: exceeded max_execution_time_seconds (3600 s)',
            finishedAgo: 30,
          },
        ],
      });
      completer.request(['run-1']);
      const [run] = await completer.flush();

      expect(run.status).toBe('completed');
      expect(run.summary).toMatchObject({
        tenants_processed: 3,
        tenants_succeeded: 1,
        tenants_failed: 1,
        tenants_cancelled: 1,
        steps_completed: 6,
        steps_failed: 1,
        retries: 3,
      });
      expect(store.get('run-1')!.errorMessage).toBe(
        '2 of 3 tenants did not complete; last error: production: answered 503',
      );
      expect(store.tables.events).toHaveLength(1);
      expect(store.tables.events[0]).toMatchObject({
        routingKey: WORKFLOW_COMPLETED,
        payload: { steps_failed: 1, tenants_failed: 2, tenants_succeeded: 1 },
      });
      expect(store.tables.outcomes.map((o) => o.outcome)).toEqual(['completed']);
    });

    it('fails a run none of whose tenants completed, with one workflow_failed event', async () => {
      const { store, completer } = setup({
        'run-1': [
          { status: 'failed', stepsFailed: 1, errorMessage: 'forecast: answered 400' },
          { status: 'cancelled', errorMessage: 'cancelled' },
        ],
      });
      completer.request(['run-1']);
      const [run] = await completer.flush();

      expect(run.status).toBe('failed');
      expect(store.get('run-1')!.status).toBe('failed');
      expect(store.tables.events).toEqual([
        {
          exchange: ORCHESTRATOR_EXCHANGE,
          routingKey: WORKFLOW_FAILED,
          payload: {
            event_type: 'orchestrator_workflow_failed',
            workflow_name: 'daily_operations',
            execution_id: 'run-1',
            error_message: expect.stringMatching(/^2 of 2 tenants did not complete; last error: /),
            tenants_affected: 2,
            timestamp: now.toISOString(),
          },
        },
      ]);
      expect(store.tables.outcomes.map((o) => o.outcome)).toEqual(['failed']);
    });

    it('completes a run that had no tenants', async () => {
      const { store, completer } = setup({ 'run-1': [] });
      completer.request(['run-1']);
      expect((await completer.flush()).map((c) => c.status)).toEqual(['completed']);
      expect(store.tables.events[0].routingKey).toBe(WORKFLOW_COMPLETED);
    });

    it.each<ExecutionStatus>(['pending', 'running'])(
      'leaves a run open while a tenant is %s, and closes it once that tenant is done',
      async (status) => {
        const { store, completer } = setup({ 'run-1': [ok, { status }] });
        completer.request(['run-1']);
        expect(await completer.flush()).toEqual([]);
        expect(store.get('run-1')!.status).toBe('running');
        expect(store.tables.events).toEqual([]);

        store.get('run-1-tenant-2')!.status = 'completed';
        completer.request(['run-1']);
        expect((await completer.flush()).map((c) => c.status)).toEqual(['completed']);
      },
    );

    it('checks only the runs it was asked about, unless asked for all', async () => {
      const { completer } = setup({ 'run-1': [ok], 'run-2': [ok] });
      completer.request(['run-2']);
      expect((await completer.flush()).map((c) => c.parent.id)).toEqual(['run-2']);
      expect((await completer.flush(true)).map((c) => c.parent.id)).toEqual(['run-1']);
    });

    it('does nothing when nothing was asked for', async () => {
      const { store, completer } = setup({ 'run-1': [ok] });
      expect(await completer.flush()).toEqual([]);
      expect(store.transactions).toBe(0);
    });
  });

  describe('once per run', () => {
    it('closes a run and emits its event once, however often it is asked', async () => {
      const { store, completer } = setup({ 'run-1': [ok] });
      const closed: ClosedRun[] = [];
      completer.onRunClosed((run) => closed.push(run));
      for (let i = 0; i < 3; i++) {
        completer.request(['run-1']);
        await completer.flush();
        await completer.flush(true);
      }
      expect(closed.map((c) => c.parent.id)).toEqual(['run-1']);
      expect(store.tables.events).toHaveLength(1);
      expect(store.tables.outcomes).toHaveLength(1);
    });

    it('emits once when two checks of the same run overlap', async () => {
      const { store, completer } = setup({ 'run-1': [ok] });
      completer.request(['run-1']);
      const closed = await Promise.all([completer.flush(), completer.flush(true)]);
      expect(closed.flat().map((c) => c.parent.id)).toEqual(['run-1']);
      expect(store.tables.events).toHaveLength(1);
    });

    it('emits once when two instances close the same run at the same time', async () => {
      const { store, completer, another } = setup({ 'run-1': [ok] });
      const closed = await Promise.all([completer.flush(true), another().flush(true)]);
      expect(closed.flat().map((c) => c.parent.id)).toEqual(['run-1']);
      expect(store.tables.events).toHaveLength(1);
      expect(store.tables.outcomes).toHaveLength(1);
    });

    it('writes nothing of a close that failed, and closes the run at the next check', async () => {
      const { store, outbox, completer } = setup({ 'run-1': [ok] });
      outbox.failNext(new Error('connection terminated'));
      completer.request(['run-1']);
      expect(await completer.flush()).toEqual([]);
      // the status, the workflow's outcome and the event commit together or not at all
      expect(store.get('run-1')!.status).toBe('running');
      expect(store.tables.outcomes).toEqual([]);
      expect(store.tables.events).toEqual([]);

      // asked again without a new request: the failed check kept it
      expect((await completer.flush()).map((c) => c.parent.id)).toEqual(['run-1']);
      expect(store.tables.events).toHaveLength(1);
    });

    it(
      'tries a close that failed again by itself, without a new request',
      withFakeTimers(async () => {
        const { store, completer } = failingOnce();
        completer.request(['run-1']);
        await jest.runOnlyPendingTimersAsync();
        expect(store.get('run-1')!.status).toBe('running');

        // the last tenant of the day was this run's: nobody else will ask again
        await jest.runOnlyPendingTimersAsync();
        expect(store.get('run-1')!.status).toBe('completed');
        expect(store.tables.events).toHaveLength(1);
      }),
    );

    it(
      'tries a check of every open run that failed again by itself (the one at start)',
      withFakeTimers(async () => {
        const { store, completer } = failingOnce();
        expect(await completer.flush(true)).toEqual([]);
        // a check of other runs in between (it clears the pending timer) does not drop it
        completer.request(['run-2']);
        expect(await completer.flush()).toEqual([]);
        expect(store.get('run-1')!.status).toBe('running');

        await jest.runOnlyPendingTimersAsync();
        expect(store.get('run-1')!.status).toBe('completed');
        expect(store.tables.events).toHaveLength(1);
      }),
    );

    it(
      'coalesces the requests of many tenants into one check',
      withFakeTimers(async () => {
        const { store, completer } = setup({ 'run-1': [ok, ok], 'run-2': [ok] });
        const closed: string[] = [];
        completer.onRunClosed((run) => closed.push(run.parent.id));
        completer.request(['run-1']);
        completer.request(['run-1', 'run-2']);
        completer.request(['run-1']);
        expect(store.transactions).toBe(0);

        await jest.runOnlyPendingTimersAsync();
        expect(store.transactions).toBe(1);
        expect(closed.sort()).toEqual(['run-1', 'run-2']);
      }),
    );
  });

  describe('onRunClosed', () => {
    it('tells every listener about each closed run, after the close committed', async () => {
      const { store, completer } = setup({ 'run-1': [ok] });
      const seen: string[] = [];
      completer.onRunClosed((run) => seen.push(`a:${run.status}:${store.get('run-1')!.status}`));
      completer.onRunClosed((run) => seen.push(`b:${run.parent.id}`));
      completer.request(['run-1']);
      await completer.flush();
      expect(seen).toEqual(['a:completed:completed', 'b:run-1']);
    });

    it('still tells the other listeners, and still resolves, when one listener throws', async () => {
      const { completer } = setup({ 'run-1': [ok] });
      const seen: string[] = [];
      completer.onRunClosed(() => {
        throw new Error('listener bug');
      });
      completer.onRunClosed((run) => seen.push(run.parent.id));
      completer.request(['run-1']);
      await expect(completer.flush()).resolves.toHaveLength(1);
      expect(seen).toEqual(['run-1']);
    });
  });

  describe('listenersSettled (at shutdown)', () => {
    const later = () => {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    };

    it('waits for the work a listener started for a closed run', async () => {
      const { completer } = setup({ 'run-1': [ok] });
      const work = later();
      completer.onRunClosed(() => work.promise);
      completer.request(['run-1']);
      await completer.flush();
      let settled = false;
      const waiting = completer.listenersSettled().then(() => (settled = true));
      await Promise.resolve();
      expect(settled).toBe(false);
      work.resolve();
      await waiting;
      expect(settled).toBe(true);
    });

    it('returns once the work failed, and at once when there is none', async () => {
      const { completer } = setup({ 'run-1': [ok] });
      await completer.listenersSettled();
      const work = later();
      completer.onRunClosed(() => work.promise);
      completer.request(['run-1']);
      await completer.flush();
      const waiting = completer.listenersSettled();
      work.reject(new Error('alert service down'));
      await expect(waiting).resolves.toBeUndefined();
    });

    it('stops waiting after its deadline', async () => {
      const { completer } = setup({ 'run-1': [ok] });
      completer.onRunClosed(() => new Promise(() => undefined));
      completer.request(['run-1']);
      await completer.flush();
      await expect(completer.listenersSettled(20)).resolves.toBeUndefined();
    });
  });
});
