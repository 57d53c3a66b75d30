import { ClientsError, ClientsErrorCode } from 'src/clients/clients.errors';
import {
  OPERATION_NAMES,
  OperationContext,
  OperationRegistry,
} from 'src/clients/operation-registry';
import { FakeClock } from 'test/fakes/fake-clock';
import type { WorkflowEntity } from 'src/workflows/workflow.entity';
import { workflowOf } from 'test/fakes/engine';
import type { ExecutionEntity } from '../execution.entity';
import type { StateWriter } from './state-writer';
import { TenantRunner } from './tenant-runner';
import { upstreamFailure as upstream } from 'test/fakes/upstream-failure';

/** Answers every operation, except the ones told to throw; records each context. */
class ScriptedRegistry extends OperationRegistry {
  readonly seen: OperationContext[] = [];
  constructor(private readonly failures: Record<string, unknown> = {}) {
    super();
  }
  names() {
    return [...OPERATION_NAMES];
  }
  has() {
    return true;
  }
  async run(name: string, ctx: OperationContext) {
    this.seen.push(ctx);
    if (ctx.stepName in this.failures) throw this.failures[ctx.stepName];
    return { ok: name };
  }
}

const writer = { write: async () => new Set<string>() } as unknown as StateWriter;

const workflow = workflowOf([
  { name: 'generate_forecasts', operation: 'forecasting.generate' },
  {
    name: 'calculate_production',
    operation: 'production.generate_schedule',
    depends_on: ['generate_forecasts'],
  },
] as WorkflowEntity['steps']);

const execution = (over: Partial<ExecutionEntity> = {}) =>
  ({
    id: 'exec-1',
    workflowId: 'wf-1',
    workflowName: 'daily_operations',
    tenantId: 'tenant-1',
    parentExecutionId: 'run-1',
    scheduledFor: new Date('2026-03-02T23:30:00Z'),
    tenantTimezone: 'Europe/Lisbon',
    attempt: 1,
    startedAt: null,
    ...over,
  }) as ExecutionEntity;

const now = new Date('2026-06-01T10:00:00Z');

async function runWith(registry: OperationRegistry, exec = execution(), random = () => 0.5) {
  const runner = new TenantRunner(registry, writer, new FakeClock(now), random);
  return runner.run({
    execution: exec,
    workflow,
    completed: new Map(),
    signal: new AbortController().signal,
    owner: 'me',
    stepConcurrency: 2,
  });
}

describe(TenantRunner.name, () => {
  describe('run', () => {
    it("gives each step the slot's business date in the tenant's zone and a slot-based key", async () => {
      const registry = new ScriptedRegistry();
      await runWith(registry);
      // 23:30Z on the 2nd is the 2nd in Lisbon (the 3rd in Madrid, the workflow's zone)
      expect(registry.seen.map((c) => c.businessDate)).toEqual(['2026-03-02', '2026-03-02']);
      expect(registry.seen[0].tenant.timezone).toBe('Europe/Lisbon');

      const retry = new ScriptedRegistry();
      await runWith(retry, execution({ id: 'another-execution-of-the-slot', attempt: 2 }));
      expect(retry.seen.map((c) => c.idempotencyKey)).toEqual(
        registry.seen.map((c) => c.idempotencyKey),
      );
      expect(new Set(registry.seen.map((c) => c.idempotencyKey)).size).toBe(2);
    });

    it("falls back to the workflow's zone when the tenant's is unknown", async () => {
      const registry = new ScriptedRegistry();
      await runWith(registry, execution({ tenantTimezone: null }));
      expect(registry.seen[0].businessDate).toBe('2026-03-03');
    });

    it('schedules a retry with full jitter after a retryable failure', async () => {
      const outcome = await runWith(
        new ScriptedRegistry({ calculate_production: upstream(503) }),
        execution(),
        () => 0.25,
      );
      expect(outcome!.final).toMatchObject({ status: 'pending', attempt: 2 });
      // a quarter of the first ceiling (300 s)
      expect(outcome!.final.nextAttemptAt).toEqual(new Date(now.getTime() + 75_000));
    });

    it.each([
      ['a permanent 400', upstream(400), 'answered 400'],
      [
        'invalid params',
        new ClientsError(
          ClientsErrorCode.INVALID_PARAMS,
          'step x: params.days_ahead must be an integer',
        ),
        'params.days_ahead',
      ],
    ])('fails at once, without a retry, on %s', async (_, err, text) => {
      const outcome = await runWith(new ScriptedRegistry({ calculate_production: err }));
      expect(outcome!.final).toMatchObject({ status: 'failed', attempt: 1, nextAttemptAt: null });
      expect(outcome!.final.errorMessage).toContain(text);
      expect(outcome!.final.errorMessage).toContain('not retried');
    });
  });

  describe('the DAG', () => {
    // a -> (b, c) -> d, each answering after a turn of the event loop
    const diamond = workflowOf([
      { name: 'a', operation: 'forecasting.generate' },
      { name: 'b', operation: 'production.generate_schedule', depends_on: ['a'] },
      { name: 'c', operation: 'procurement.calculate_needs', depends_on: ['a'] },
      { name: 'd', operation: 'notification.daily_summary', depends_on: ['b', 'c'] },
    ] as WorkflowEntity['steps']);

    class TimedRegistry extends ScriptedRegistry {
      readonly order: string[] = [];
      running = 0;
      maxRunning = 0;
      override async run(name: string, ctx: OperationContext) {
        this.order.push(ctx.stepName);
        this.maxRunning = Math.max(this.maxRunning, ++this.running);
        await new Promise((resolve) => setImmediate(resolve));
        this.running--;
        return super.run(name, ctx);
      }
    }

    const runDiamond = (registry: OperationRegistry, stepConcurrency: number) =>
      new TenantRunner(registry, writer, new FakeClock(now)).run({
        execution: execution(),
        workflow: diamond,
        completed: new Map(),
        signal: new AbortController().signal,
        owner: 'me',
        stepConcurrency,
      });

    it.each([1, 2])(
      'runs each step once, after its dependencies, at most %i at a time',
      async (limit) => {
        const registry = new TimedRegistry();
        const outcome = await runDiamond(registry, limit);
        expect(registry.order).toHaveLength(4);
        expect(new Set(registry.order).size).toBe(4);
        expect(registry.order[0]).toBe('a');
        expect(registry.order[3]).toBe('d');
        expect(registry.maxRunning).toBe(limit);
        expect(outcome!.final).toMatchObject({ status: 'completed', stepsCompleted: 4 });
      },
    );

    it('rejects, once the other running steps are done, when a step cannot even record its failure', async () => {
      // a thrown value whose message cannot be read: the step fails outside its own handling
      const unreadable = {
        get message(): string {
          throw new Error('message unreadable');
        },
      };
      const registry = new TimedRegistry();
      const failing = new (class extends TimedRegistry {
        override async run(name: string, ctx: OperationContext) {
          if (ctx.stepName === 'b') throw Object.setPrototypeOf(unreadable, Error.prototype);
          return registry.run(name, ctx);
        }
      })();
      await expect(runDiamond(failing, 2)).rejects.toThrow('message unreadable');
      // c, started beside b, ran to its end; d never started
      expect(registry.order).toEqual(['a', 'c']);
      expect(registry.running).toBe(0);
    });
  });
});
