import { Clock } from 'src/common/time/clock';
import {
  ClientOperationRegistry,
  callOptions,
  shiftDate,
  summarize,
} from './client-operation-registry';
import { ClientsError, ClientsErrorCode } from './clients.errors';
import { OPERATION_NAMES, OperationContext } from './operation-registry';

class FixedClock extends Clock {
  constructor(private readonly at: Date) {
    super();
  }
  now(): Date {
    return this.at;
  }
}

/** Records what each client method was asked, answers with a canned body. */
function recordingClients() {
  const calls: Array<{ method: string; args: unknown[] }> = [];
  const client = (answers: Record<string, unknown>) =>
    new Proxy(
      {},
      {
        get:
          (_, method: string) =>
          (...args: unknown[]) => {
            calls.push({ method, args });
            return Promise.resolve(answers[method] ?? { ok: true });
          },
      },
    ) as any;
  return { calls, client };
}

const ctx = (overrides: Partial<OperationContext> = {}): OperationContext => ({
  tenant: { id: 'tenant-1' },
  executionId: 'exec-1',
  runId: 'run-1',
  stepName: 'step',
  params: {},
  previousResults: {},
  signal: new AbortController().signal,
  idempotencyKey: 'exec-1:step',
  ...overrides,
});

describe(ClientOperationRegistry.name, () => {
  const build = (answers: Record<string, unknown> = {}) => {
    const { calls, client } = recordingClients();
    const registry = new ClientOperationRegistry(
      client(answers),
      client(answers),
      client(answers),
      client(answers),
      client(answers),
      client(answers),
      client(answers),
      new FixedClock(new Date('2025-11-26T23:30:00Z')),
    );
    return { registry, calls };
  };

  it('has a handler for every operation name of the contract', () => {
    const { registry } = build();
    expect(registry.names().sort()).toEqual([...OPERATION_NAMES].sort());
    expect(registry.has('forecasting.generate')).toBe(true);
    expect(registry.has('forecasting.delete_everything')).toBe(false);
  });

  it('refuses an unknown operation with a coded error', async () => {
    const { registry } = build();
    await expect(registry.run('nope.nothing', ctx())).rejects.toEqual(
      expect.objectContaining({ code: ClientsErrorCode.UNKNOWN_OPERATION }),
    );
  });

  it('passes tenant, run id, idempotency key, signal and per-step overrides to the client', async () => {
    const { registry, calls } = build();
    const c = ctx({ params: { days_ahead: 5 }, timeoutSeconds: 12, retries: 2 });
    await registry.run('forecasting.generate', c);
    expect(calls).toEqual([
      {
        method: 'generate',
        args: [
          'tenant-1',
          {
            signal: c.signal,
            idempotencyKey: 'exec-1:step',
            correlationId: 'run-1',
            timeoutMs: 12_000,
            maxAttempts: 3,
            daysAhead: 5,
          },
        ],
      },
    ]);
  });

  it('refuses params that cannot make a valid request, naming them', async () => {
    const { registry, calls } = build();
    const err = await registry
      .run('procurement.calculate_needs', ctx({ params: { days_ahead: 'fourteen' } }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientsError);
    expect((err as ClientsError).message).toContain('params.days_ahead');
    expect(calls).toHaveLength(0);
  });

  it('sends the daily summary built from the earlier steps, dated in the tenant timezone', async () => {
    const { registry, calls } = build();
    await registry.run(
      'notification.daily_summary',
      ctx({
        tenant: { id: 'tenant-1', timezone: 'Europe/Madrid' },
        previousResults: {
          generate_forecasts: { forecast_run_id: 'f', count: 168, products: 24 },
          calculate_production: { schedule_id: 's', batches: 18 },
        },
      }),
    );
    expect(calls[0].method).toBe('sendDailySummary');
    expect(calls[0].args[0]).toEqual({
      tenant_id: 'tenant-1',
      orchestration_run_id: 'run-1',
      date: '2025-11-27', // 23:30 UTC is already the 27th in Madrid
      summary: { forecasts: { count: 168, products: 24 }, production: { batches: 18 } },
    });
  });

  it("dates every dated operation by the engine's business date, not the clock", async () => {
    const { registry, calls } = build();
    // the clock says 2025-11-27 in Madrid; a backfill works on 2025-11-03
    const c = ctx({
      tenant: { id: 'tenant-1', timezone: 'Europe/Madrid' },
      businessDate: '2025-11-03',
    });
    for (const op of [
      'forecasting.generate',
      'forecasting.validate',
      'production.generate_schedule',
      'procurement.calculate_needs',
      'inventory.project',
      'notification.daily_summary',
      'notification.weekly_digest',
    ])
      await registry.run(op, c);
    const dates = Object.fromEntries(
      calls.map(({ method, args }) => {
        const opts = args.find(
          (a) => typeof a === 'object' && a !== null && !('tenant_id' in a) && 'signal' in a,
        ) as Record<string, unknown>;
        const body = args.find((a) => typeof a === 'object' && a !== null && 'tenant_id' in a) as
          Record<string, unknown> | undefined;
        return [
          method,
          opts?.targetDate ?? opts?.startDate ?? opts?.date ?? body?.date ?? body?.week_start,
        ];
      }),
    );
    expect(dates).toEqual({
      generate: '2025-11-03',
      validate: '2025-11-02', // "yesterday" of the business day
      generateSchedule: '2025-11-03',
      calculateNeeds: '2025-11-03',
      project: '2025-11-03',
      sendDailySummary: '2025-11-03',
      sendWeeklyDigest: '2025-10-27', // the seven days before it
    });
  });

  it('retrains the products the evaluation flagged, and skips when there are none', async () => {
    const { registry, calls } = build();
    const flagged = {
      evaluate_accuracy: { retrain_product_ids: ['p1', 'p2'], retraining_triggered: false },
    };
    await registry.run('training.retrain', ctx({ previousResults: flagged }));
    expect(calls[0]).toEqual({
      method: 'retrain',
      args: ['tenant-1', ['p1', 'p2'], expect.objectContaining({ reason: 'weekly_evaluation' })],
    });
    const none = await registry.run(
      'training.retrain',
      ctx({ previousResults: { evaluate_accuracy: { retrain_product_ids: [] } } }),
    );
    expect(none).toEqual(expect.objectContaining({ skipped: true }));
    const already = await registry.run(
      'training.retrain',
      ctx({
        previousResults: {
          e: { retrain_product_ids: ['p1'], retraining_triggered: true, training_job_id: 'j' },
        },
      }),
    );
    expect(already).toEqual(expect.objectContaining({ skipped: true, training_job_id: 'j' }));
    expect(calls).toHaveLength(1);
  });

  it('keeps only the worst products of a validation in the step result', async () => {
    const breakdown = Array.from({ length: 30 }, (_, i) => ({ product_id: `p${i}`, mape: i }));
    const { registry } = build({
      validate: { overall_mape: 12, accuracy_percentage: 88, product_breakdown: breakdown },
    });
    const result = await registry.run('forecasting.validate', ctx());
    expect(result.products_in_breakdown).toBe(30);
    expect(
      (result.worst_products as Array<{ product_id: string }>).map((p) => p.product_id),
    ).toEqual(['p29', 'p28', 'p27', 'p26', 'p25']);
    expect(result).not.toHaveProperty('product_breakdown');
  });
});

describe('validateParams', () => {
  const { registry } = (() => {
    const { client } = recordingClients();
    return {
      registry: new ClientOperationRegistry(
        client({}),
        client({}),
        client({}),
        client({}),
        client({}),
        client({}),
        client({}),
        new FixedClock(new Date()),
      ),
    };
  })();

  it('accepts the params of the built-in workflows', () => {
    expect(registry.validateParams('forecasting.generate', { days_ahead: 7 })).toEqual([]);
    expect(
      registry.validateParams('forecasting.evaluate_and_retrain', {
        auto_trigger: false,
        lookback_days: 30,
        mape_threshold: 30,
        mape_increase_threshold: 5,
        max_model_age_days: 30,
      }),
    ).toEqual([]);
    expect(
      registry.validateParams('alert_processor.archive_resolved', { older_than_days: 30 }),
    ).toEqual([]);
    expect(registry.validateParams('notification.daily_summary', {})).toEqual([]);
  });

  it('names every bad or unknown param', () => {
    expect(
      registry.validateParams('procurement.calculate_needs', { days_ahead: 0, colour: 'red' }),
    ).toEqual([
      'params.colour is not accepted by procurement.calculate_needs (accepted: days_ahead)',
      'params.days_ahead must be an integer from 1 to 90',
    ]);
    expect(registry.validateParams('production.generate_schedule', { days_ahead: 7 })).toEqual([
      'params.days_ahead is not accepted: production.generate_schedule takes no params',
    ]);
    expect(registry.validateParams('training.retrain', { product_ids: 'p1' })).toEqual([
      'params.product_ids must be a list of product ids',
    ]);
    expect(registry.validateParams('nope.nothing', {})).toEqual([
      'no client implements operation nope.nothing',
    ]);
  });
});

describe('callOptions', () => {
  it('leaves the core defaults alone when the step overrides nothing', () => {
    expect(callOptions(ctx())).toEqual(
      expect.objectContaining({ timeoutMs: undefined, maxAttempts: undefined }),
    );
  });

  it('reads retries as retries: 0 means one attempt', () => {
    expect(callOptions(ctx({ retries: 0 })).maxAttempts).toBe(1);
  });
});

describe('summarize', () => {
  it('recognises each result by its shape, whatever the step is called', () => {
    expect(
      summarize({
        a: { needs_count: 7, estimated_cost: 10.5 },
        b: { projection_id: 'x', items_projected: 31, stockout_risks: [{}, {}] },
        c: { overall_mape: 14.2, accuracy_percentage: 85.8, coverage_percentage: 96 },
        d: 'not an object',
        e: { something: 'else' },
      }),
    ).toEqual({
      procurement: { needs_count: 7, estimated_cost: 10.5 },
      inventory: { items_projected: 31, stockout_risks: 2 },
      validation: { overall_mape: 14.2, accuracy_percentage: 85.8, coverage_percentage: 96 },
    });
  });

  it('leaves out the figures a result does not give, rather than sending them undefined', () => {
    const summary = summarize({
      generate: { forecast_run_id: 'f', count: 12 },
      plan: { schedule_id: 's', batches: 3, total_units: 'many' },
      buy: { needs_count: 0 },
      check: { overall_mape: 9.5, accuracy_percentage: 90.5 },
    });
    expect(summary).toStrictEqual({
      forecasts: { count: 12 },
      production: { batches: 3 },
      procurement: { needs_count: 0 },
      validation: { overall_mape: 9.5, accuracy_percentage: 90.5 },
    });
    expect(Object.keys(summary.forecasts!)).toEqual(['count']);
  });
});

describe('shiftDate', () => {
  it('moves a date by calendar days, the same when asked again, and refuses a date that is not one', () => {
    const asked = () => [
      shiftDate('2026-03-01', -1),
      shiftDate('2026-03-01', -7),
      shiftDate('2024-03-01', -1),
      shiftDate('2026-12-31', 1),
      shiftDate('2026-02-30', -1),
      shiftDate(undefined, -1),
    ];
    const expected = ['2026-02-28', '2026-02-22', '2024-02-29', '2027-01-01', undefined, undefined];
    expect(asked()).toEqual(expected);
    expect(asked()).toEqual(expected);
  });
});
