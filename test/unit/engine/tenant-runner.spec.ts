import { ClientsError, ClientsErrorCode } from 'src/clients/clients.errors';
import { UpstreamError, UpstreamErrorCode } from 'src/clients/http/upstream.error';
import { FakeClock } from '../../fakes/fake-clock';
import type { ExecutionEntity } from 'src/executions/execution.entity';
import { StateWriter } from 'src/executions/runner/state-writer';
import { stepIdempotencyKey } from 'src/executions/runner/step-key';
import {
  AbortReason,
  FinishedStep,
  TenantRun,
  TenantRunner,
} from 'src/executions/runner/tenant-runner';
import {
  FakeExecutionStore,
  ScriptedOperations,
  settle,
  tenantExecution,
  upstreamError,
  workflowOf,
} from '../../fakes/engine';

const now = new Date('2026-06-01T05:00:00Z');

/**
 * forecast -> (production, procurement) -> summary, and validate on its own: the daily
 * workflow's shape, small enough to follow.
 */
const daily = workflowOf([
  { name: 'forecast', operation: 'forecasting.generate' },
  { name: 'production', operation: 'production.generate_schedule', depends_on: ['forecast'] },
  { name: 'procurement', operation: 'procurement.calculate_needs', depends_on: ['forecast'] },
  {
    name: 'summary',
    operation: 'notification.daily_summary',
    depends_on: ['production', 'procurement'],
  },
  { name: 'validate', operation: 'forecasting.validate' },
]);

function setup(operations = new ScriptedOperations(), random = () => 0.5) {
  const store = new FakeExecutionStore();
  const runner = new TenantRunner(
    operations,
    new StateWriter(store.asRepository()),
    new FakeClock(now),
    random,
  );
  const controller = new AbortController();
  const start = (over: Partial<TenantRun> = {}) =>
    runner.run({
      execution: tenantExecution(),
      workflow: daily,
      completed: new Map(),
      signal: controller.signal,
      owner: 'instance-a',
      stepConcurrency: 4,
      ...over,
    });
  return { operations, store, runner, controller, start };
}

/** Operations whose calls to these steps wait for the test to answer them. */
const holding = (...names: string[]) => {
  const ops = new ScriptedOperations();
  for (const n of names) ops.held(n);
  return ops;
};

describe(TenantRunner.name, () => {
  describe('run: order', () => {
    it('calls a step only once every step it depends on has completed', async () => {
      const ops = holding('forecast', 'production', 'procurement', 'summary');
      const { start } = setup(ops);
      const outcome = start();

      await settle();
      expect(ops.started()).toEqual(['forecast', 'validate']);
      ops.answer('forecast');
      await settle();
      expect(ops.inFlight()).toEqual(['production', 'procurement']);
      ops.answer('production');
      await settle();
      expect(ops.started()).not.toContain('summary');
      ops.answer('procurement');
      await settle();
      expect(ops.inFlight()).toEqual(['summary']);
      ops.answer('summary');

      expect((await outcome)!.final).toMatchObject({ status: 'completed', stepsCompleted: 5 });
    });

    it('follows the graph, not the order the steps are listed in', async () => {
      const reversed = workflowOf([...daily.steps].reverse());
      const { operations, start } = setup();
      const outcome = (await start({ workflow: reversed }))!;
      const started = operations.started();
      const before = (a: string, b: string) => started.indexOf(a) < started.indexOf(b);
      expect(before('forecast', 'production')).toBe(true);
      expect(before('forecast', 'procurement')).toBe(true);
      expect(before('production', 'summary')).toBe(true);
      expect(before('procurement', 'summary')).toBe(true);
      expect(outcome.final).toMatchObject({ status: 'completed', stepsCompleted: 5 });
    });

    it('hands a step the results of the steps it depends on', async () => {
      const { operations, start } = setup();
      await start();
      const summary = operations.calls.find((c) => c.ctx.stepName === 'summary')!;
      expect(summary.ctx.previousResults).toMatchObject({
        forecast: { step: 'forecast' },
        production: { step: 'production' },
        procurement: { step: 'procurement' },
      });
    });

    it('runs no more than stepConcurrency independent steps at once', async () => {
      const flat = workflowOf(
        ['a', 'b', 'c', 'd'].map((name) => ({ name, operation: 'forecasting.generate' })),
      );
      const ops = holding('a', 'b', 'c', 'd');
      const { start } = setup(ops);
      const outcome = start({ workflow: flat, stepConcurrency: 2 });

      await settle();
      expect(ops.inFlight()).toEqual(['a', 'b']);
      ops.answer('b');
      await settle();
      expect(ops.inFlight()).toEqual(['a', 'c']);
      for (const n of ['a', 'c']) ops.answer(n);
      await settle();
      expect(ops.inFlight()).toEqual(['d']);
      ops.answer('d');
      expect((await outcome)!.final.status).toBe('completed');
    });
  });

  describe('run: a failed step', () => {
    it('skips the steps that depend on it and still runs the independent ones', async () => {
      const { operations, start } = setup(
        new ScriptedOperations().failing('production', upstreamError(400)),
      );
      const outcome = (await start())!;

      expect(operations.started().sort()).toEqual(
        ['forecast', 'procurement', 'production', 'validate'].sort(),
      );
      expect(outcome.final).toMatchObject({
        status: 'failed',
        stepsCompleted: 3,
        stepsFailed: 1,
        resultSummary: {
          steps: {
            forecast: 'completed',
            production: 'failed',
            procurement: 'completed',
            summary: 'skipped',
            validate: 'completed',
          },
        },
      });
      expect(outcome.stepRows).toEqual([
        expect.objectContaining({
          stepName: 'summary',
          stepIndex: 3,
          status: 'skipped',
          errorMessage: 'not run: a step it depends on did not complete',
        }),
      ]);
    });

    it('skips the dependents of its dependents too', async () => {
      const { operations, start } = setup(
        new ScriptedOperations().failing('forecast', upstreamError(400)),
      );
      const outcome = (await start())!;
      expect(operations.started()).toEqual(['forecast', 'validate']);
      expect(outcome.stepRows.map((r) => [r.stepName, r.status])).toEqual([
        ['production', 'skipped'],
        ['procurement', 'skipped'],
        ['summary', 'skipped'],
      ]);
    });

    it('lets its dependents run when it is marked continue_on_error, and completes', async () => {
      const lenient = workflowOf(
        daily.steps.map((s) => (s.name === 'production' ? { ...s, continue_on_error: true } : s)),
      );
      const { operations, start } = setup(
        new ScriptedOperations().failing('production', upstreamError(400)),
      );
      const outcome = (await start({ workflow: lenient }))!;
      expect(operations.started()).toContain('summary');
      expect(outcome.final).toMatchObject({ status: 'completed', stepsFailed: 1 });
      expect(outcome.final.errorMessage).toMatch(/^production: .*400/);
    });
  });

  describe('run: retries', () => {
    it('schedules the next attempt after a retryable failure, with full jitter', async () => {
      const { start } = setup(
        new ScriptedOperations().failing('production', upstreamError(503)),
        () => 0.25,
      );
      const final = (await start())!.final;
      expect(final).toMatchObject({ status: 'pending', attempt: 2, completedAt: null });
      // a quarter of the first ceiling, retry_delay_seconds (300 s)
      expect(final.nextAttemptAt).toEqual(new Date(now.getTime() + 75_000));
      expect(final.errorMessage).toContain('retrying in 75 s');
    });

    it('doubles the ceiling of the delay with each attempt', async () => {
      const { start } = setup(new ScriptedOperations().failing('production', upstreamError(503)));
      const final = (await start({ execution: tenantExecution({ attempt: 3 }) }))!.final;
      // half of 300 s * 2 * 2
      expect(final.nextAttemptAt).toEqual(new Date(now.getTime() + 600_000));
    });

    it.each([
      ['a 503', upstreamError(503)],
      ['a 429', upstreamError(429)],
      ['a 408', upstreamError(408)],
      [
        'a timeout',
        new UpstreamError({
          service: 'forecasting',
          operation: 'forecasting.generate',
          code: UpstreamErrorCode.TIMEOUT,
          retryable: true,
        }),
      ],
      ['an unexpected throw', new Error('socket hang up')],
    ])('retries after %s', async (_, err) => {
      const { start } = setup(new ScriptedOperations().failing('production', err));
      expect((await start())!.final).toMatchObject({ status: 'pending', attempt: 2 });
    });

    it.each([
      ['a 400', upstreamError(400), 'answered 400'],
      ['a 404', upstreamError(404), 'answered 404'],
      [
        'invalid params',
        new ClientsError(ClientsErrorCode.INVALID_PARAMS, 'params.days_ahead must be an integer'),
        'params.days_ahead',
      ],
    ])('fails at once, without a retry, after %s', async (_, err, text) => {
      const { start } = setup(new ScriptedOperations().failing('production', err));
      const final = (await start())!.final;
      expect(final).toMatchObject({ status: 'failed', attempt: 1, nextAttemptAt: null });
      expect(final.errorMessage).toContain(`production: `);
      expect(final.errorMessage).toContain(text);
      expect(final.errorMessage).toContain('not retried');
    });

    it('fails at once when one failure is permanent, even if another could pass', async () => {
      const { start } = setup(
        new ScriptedOperations()
          .failing('validate', upstreamError(503))
          .failing('production', upstreamError(400)),
      );
      const final = (await start())!.final;
      expect(final).toMatchObject({ status: 'failed', nextAttemptAt: null });
      expect(final.errorMessage).toMatch(/^production: .*not retried/);
    });

    it('makes max_retries + 1 attempts at a step that keeps failing, then fails', async () => {
      const workflow = workflowOf(daily.steps, { maxRetries: 2 });
      const { operations, start } = setup(
        new ScriptedOperations().failing('production', upstreamError(503)),
      );
      const statuses: string[] = [];
      let attempt = 1;
      for (;;) {
        const final = (await start({ workflow, execution: tenantExecution({ attempt }) }))!.final;
        statuses.push(final.status);
        if (final.status !== 'pending') break;
        attempt = final.attempt;
      }
      expect(statuses).toEqual(['pending', 'pending', 'failed']);
      expect(operations.calls.filter((c) => c.ctx.stepName === 'production')).toHaveLength(3);
    });
  });

  describe('run: resume', () => {
    it('does not call the steps an earlier attempt completed, and passes on their results', async () => {
      const { operations, store, start } = setup();
      const outcome = (await start({
        execution: tenantExecution({ attempt: 2 }),
        completed: new Map<string, unknown>([
          ['forecast', { count: 42 }],
          ['production', { batches: 7 }],
        ]),
      }))!;

      expect(operations.started().sort()).toEqual(['procurement', 'summary', 'validate']);
      const summary = operations.calls.find((c) => c.ctx.stepName === 'summary')!;
      expect(summary.ctx.previousResults).toMatchObject({
        forecast: { count: 42 },
        production: { batches: 7 },
      });
      expect(
        store
          .writtenSteps()
          .map((r) => r.stepName)
          .sort(),
      ).toEqual(['procurement', 'summary', 'validate']);
      expect(outcome.final).toMatchObject({ status: 'completed', stepsCompleted: 5 });
    });

    it("presents the same idempotency key for a step at every attempt at the tenant's slot", async () => {
      const first = setup(new ScriptedOperations().failing('production', upstreamError(503)));
      await first.start();
      // the engine's retry resumes the row; a manual retry is another row of the same slot
      const resumed = setup();
      await resumed.start({
        execution: tenantExecution({ attempt: 2 }),
        completed: new Map([['forecast', {}]]),
      });
      const manual = setup();
      await manual.start({ execution: tenantExecution({ id: 'exec-of-a-retry-run' }) });

      const key = (s: ReturnType<typeof setup>) =>
        s.operations.calls.find((c) => c.ctx.stepName === 'production')!.ctx.idempotencyKey;
      const expected = stepIdempotencyKey({
        workflowId: 'wf-1',
        scheduledFor: tenantExecution().scheduledFor,
        tenantId: 'tenant-1',
        stepName: 'production',
      });
      expect([key(first), key(resumed), key(manual)]).toEqual([expected, expected, expected]);
    });

    it('gives each step, tenant and slot its own idempotency key', async () => {
      const keys = async (execution: ExecutionEntity) => {
        const s = setup();
        await s.start({ execution });
        return s.operations.calls.map((c) => c.ctx.idempotencyKey);
      };
      const base = await keys(tenantExecution());
      const otherTenant = await keys(tenantExecution({ tenantId: 'tenant-2' }));
      const otherSlot = await keys(
        tenantExecution({ scheduledFor: new Date('2026-06-02T04:00:00Z') }),
      );
      expect(new Set([...base, ...otherTenant, ...otherSlot]).size).toBe(15);
    });
  });

  describe('run: abort', () => {
    it.each<AbortReason>(['lease-lost', 'shutdown'])(
      'stops the work and hands it back without an outcome when %s',
      async (reason) => {
        const ops = holding('production', 'validate');
        const { store, controller, start } = setup(ops);
        const outcome = start();
        await settle();
        expect(ops.inFlight()).toEqual(['validate', 'production']);

        controller.abort(reason);
        expect(await outcome).toBeNull();
        // what completed before is durable (a resume skips it); nothing after was called
        expect(ops.started()).not.toContain('summary');
        expect(store.writtenSteps().map((r) => [r.stepName, r.status])).toEqual([
          ['forecast', 'completed'],
          ['procurement', 'completed'],
        ]);
        expect(store.batches.flatMap((b) => b.finals)).toEqual([]);
      },
    );

    it('cancels the tenant when the run passes its deadline', async () => {
      const ops = holding('production');
      const { controller, start } = setup(ops);
      const outcome = start();
      await settle();
      expect(ops.inFlight()).toEqual(['production']);

      controller.abort('deadline' satisfies AbortReason);
      const result = (await outcome)!;
      expect(result.final).toMatchObject({
        status: 'cancelled',
        nextAttemptAt: null,
        errorMessage: 'cancelled: exceeded max_execution_time_seconds (3600 s)',
      });
      expect(result.stepRows.map((r) => [r.stepName, r.status])).toEqual([
        ['production', 'cancelled'],
        ['summary', 'cancelled'],
      ]);
      expect(ops.started()).not.toContain('summary');
    });

    it('calls nothing when the signal fired before the run started', async () => {
      const { operations, controller, start } = setup();
      controller.abort('deadline' satisfies AbortReason);
      const result = (await start())!;
      expect(operations.calls).toEqual([]);
      expect(result.final.status).toBe('cancelled');
      expect(result.stepRows).toHaveLength(5);
    });
  });

  describe('run: recording', () => {
    it("hands a step's row over only once the rows of the steps it depends on are durable", async () => {
      const chain = workflowOf([
        { name: 'forecast', operation: 'forecasting.generate' },
        { name: 'production', operation: 'production.generate_schedule', depends_on: ['forecast'] },
      ]);
      const { store, start } = setup();
      const firstCommit = store.holdNextCommit();
      let finished = false;
      const outcome = start({ workflow: chain }).then((o) => {
        finished = true;
        return o;
      });
      await settle();

      // production ran while forecast's row was still committing, but its row waits
      expect(store.batches.map((b) => b.steps.map((s) => s.stepName))).toEqual([['forecast']]);
      expect(finished).toBe(false);

      firstCommit.resolve();
      await outcome;
      expect(store.batches.map((b) => b.steps.map((s) => s.stepName))).toEqual([
        ['forecast'],
        ['production'],
      ]);
    });

    it('says its calls are done once the last call ends, before its rows are durable', async () => {
      const chain = workflowOf([
        { name: 'forecast', operation: 'forecasting.generate' },
        { name: 'production', operation: 'production.generate_schedule', depends_on: ['forecast'] },
      ]);
      const ops = holding('forecast', 'production');
      const { store, start } = setup(ops);
      const commit = store.holdNextCommit();
      const callsDone: string[][] = [];
      let finished = false;
      const outcome = start({
        workflow: chain,
        // what had been called when it was told
        callsDone: () => callsDone.push(ops.started()),
      }).then((o) => {
        finished = true;
        return o;
      });
      await settle();
      ops.answer('forecast');
      await settle();
      expect(callsDone).toEqual([]);
      ops.answer('production');
      await settle();

      // told once, after both calls; forecast's row still commits, so no outcome yet
      expect(callsDone).toEqual([['forecast', 'production']]);
      expect(finished).toBe(false);
      commit.resolve();
      expect((await outcome)!.final).toMatchObject({ status: 'completed', stepsCompleted: 2 });
      expect(callsDone).toHaveLength(1);
    });

    it('records the answer, its summary, and a log line saying it', async () => {
      const ops = new ScriptedOperations().summarizing('forecasting.generate', (r) => ({
        text: `Generated ${String(r.count)} forecasts`,
        figures: { count: r.count as number },
      }));
      ops.held('forecast');
      const { store, start } = setup(ops);
      const outcome = start();
      await settle();
      ops.answer('forecast', { count: 42 });
      const { final } = (await outcome)!;

      const batch = store.batches.find((b) => b.steps.some((s) => s.stepName === 'forecast'))!;
      expect(batch.steps[0]).toMatchObject({
        status: 'completed',
        result: { count: 42 },
        summary: { text: 'Generated 42 forecasts', figures: { count: 42 } },
        errorMessage: null,
      });
      expect(batch.logs[0]).toMatchObject({
        level: 'info',
        message: 'forecast completed: Generated 42 forecasts',
        data: { operation: 'forecasting.generate', attempt: 1, summary: { count: 42 } },
      });
      expect(final.resultSummary).toEqual({
        steps: {
          forecast: 'completed',
          production: 'completed',
          procurement: 'completed',
          summary: 'completed',
          validate: 'completed',
        },
      });
    });

    it("records a failed step's error and what the client said, without the body", async () => {
      const { store, start } = setup(
        new ScriptedOperations().failing('production', upstreamError(400)),
      );
      await start();
      const batch = store.batches.find((b) => b.steps.some((s) => s.stepName === 'production'))!;
      expect(batch.steps[0]).toMatchObject({ status: 'failed', result: null });
      expect(batch.steps[0].errorMessage).toContain('400');
      expect(batch.logs[0]).toMatchObject({
        level: 'error',
        data: { status: 400, retryable: false, service: 'production' },
      });
    });

    it('fails the attempt when a step row cannot be written', async () => {
      const { store, start } = setup();
      store.failNextCommit(new Error('connection terminated'));
      await expect(start()).rejects.toThrow('connection terminated');
    });
  });

  describe('onStepFinished', () => {
    it('tells each listener about every step once its row is durable, a throwing one aside', async () => {
      const { runner, store, start } = setup(
        new ScriptedOperations().failing('production', upstreamError(503, 3)),
      );
      const seen: (FinishedStep & { durable: boolean })[] = [];
      runner.onStepFinished(() => {
        throw new Error('listener bug');
      });
      runner.onStepFinished((step) => {
        const durable = store.writtenSteps().some((r) => r.stepName === step.stepName);
        seen.push({ ...step, durable });
      });
      await start();

      expect(seen.map((s) => [s.stepName, s.status, s.calls, s.durable]).sort()).toEqual(
        [
          ['forecast', 'completed', 1, true],
          ['procurement', 'completed', 1, true],
          ['production', 'failed', 3, true],
          ['validate', 'completed', 1, true],
        ].sort(),
      );
      expect(seen[0]).toMatchObject({
        runId: 'run-1',
        tenantId: 'tenant-1',
        executionId: 'exec-1',
      });
    });
  });
});
