import { Injectable } from '@nestjs/common';
import { DateTime } from 'luxon';
import { Clock } from 'src/common/time/clock';
import { AlertProcessorClient } from './alert-processor/alert-processor.client';
import { ClientsError, ClientsErrorCode } from './clients.errors';
import type {
  DailySummary,
  ForecastValidationResult,
  RetrainingEvaluationOptions,
} from './downstream.types';
import { ForecastingClient } from './forecasting/forecasting.client';
import { InventoryClient } from './inventory/inventory.client';
import { NotificationClient } from './notification/notification.client';
import {
  OPERATION_NAMES,
  OperationContext,
  OperationHandler,
  OperationName,
  OperationRegistry,
  OperationResult,
} from './operation-registry';
import { ProcurementClient } from './procurement/procurement.client';
import { ProductionClient } from './production/production.client';
import { StepResultSummary, summarizeResult } from './result-summary';
import type { CallOptions } from './services';
import { TrainingClient } from './training/training.client';

/** Worst products kept in a validation step result: the rest is the forecasting service's data. */
const VALIDATION_PRODUCTS_KEPT = 5;

/** The params each operation reads; anything else in a step is refused at save time. */
const ACCEPTED_PARAMS: Record<OperationName, readonly string[]> = {
  'forecasting.generate': ['days_ahead'],
  'forecasting.validate': ['date'],
  'forecasting.evaluate_and_retrain': [
    'auto_trigger',
    'lookback_days',
    'mape_threshold',
    'mape_increase_threshold',
    'max_model_age_days',
  ],
  'production.generate_schedule': [],
  'procurement.calculate_needs': ['days_ahead'],
  'inventory.project': ['days_ahead'],
  'notification.daily_summary': [],
  'notification.weekly_digest': ['week_start'],
  'notification.workflow_failure': [
    'workflow_name',
    'error_message',
    'failed_step',
    'execution_id',
    'tenants_affected',
  ],
  'training.retrain': ['product_ids', 'reason'],
  'alert_processor.archive_resolved': ['older_than_days', 'all_tenants'],
};

// the integer params with their default and range, shared by the handlers and the checks
const forecastDays = (ctx: OperationContext) => intParam(ctx, 'days_ahead', 7, 1, 90);
const planningDays = (ctx: OperationContext) => intParam(ctx, 'days_ahead', 14, 1, 90);
const tenantsAffected = (ctx: OperationContext) =>
  intParam(ctx, 'tenants_affected', 1, 0, 10_000_000);
const olderThanDays = (ctx: OperationContext) => intParam(ctx, 'older_than_days', 30, 1, 3650);

/** Reads every param an operation uses, throwing the ClientsError its handler would. */
const PARAM_CHECKS: Record<OperationName, (ctx: OperationContext) => void> = {
  'forecasting.generate': forecastDays,
  'forecasting.validate': (ctx) => dateParam(ctx, 'date'),
  'forecasting.evaluate_and_retrain': (ctx) => {
    boolParam(ctx, 'auto_trigger', true);
    thresholds(ctx);
  },
  'production.generate_schedule': () => undefined,
  'procurement.calculate_needs': planningDays,
  'inventory.project': planningDays,
  'notification.daily_summary': () => undefined,
  'notification.weekly_digest': (ctx) => dateParam(ctx, 'week_start'),
  'notification.workflow_failure': (ctx) => {
    for (const key of ['error_message', 'failed_step', 'execution_id']) stringParam(ctx, key);
    if (ctx.params.tenants_affected !== undefined) tenantsAffected(ctx);
    // workflow_name is required at run time; a step may leave it to the engine to fill in
    if (ctx.params.workflow_name !== undefined) stringParam(ctx, 'workflow_name');
  },
  'training.retrain': (ctx) => {
    productIdsParam(ctx);
    stringParam(ctx, 'reason');
  },
  'alert_processor.archive_resolved': (ctx) => {
    olderThanDays(ctx);
    if (ctx.params.all_tenants !== undefined) boolParam(ctx, 'all_tenants', false);
  },
};

/**
 * One handler per operation a workflow step may name: OperationContext in, client call,
 * result out. Built once at boot; a missing handler is a boot failure, not a 3 a.m. one.
 */
@Injectable()
export class ClientOperationRegistry extends OperationRegistry {
  private readonly handlers: Record<OperationName, OperationHandler>;

  constructor(
    forecasting: ForecastingClient,
    production: ProductionClient,
    procurement: ProcurementClient,
    inventory: InventoryClient,
    notification: NotificationClient,
    training: TrainingClient,
    alerts: AlertProcessorClient,
    private readonly clock: Clock,
  ) {
    super();
    this.handlers = {
      'forecasting.generate': async (ctx) =>
        asResult(
          await forecasting.generate(ctx.tenant.id, {
            ...callOptions(ctx),
            daysAhead: forecastDays(ctx),
            targetDate: this.businessDate(ctx),
          }),
        ),
      'forecasting.validate': async (ctx) =>
        compactValidation(
          await forecasting.validate(ctx.tenant.id, ctx.runId, {
            ...callOptions(ctx),
            // "yesterday" is the day before the business date, not before today
            date: dateParam(ctx, 'date') ?? shiftDate(this.businessDate(ctx), -1),
          }),
        ),
      'forecasting.evaluate_and_retrain': async (ctx) =>
        asResult(
          await forecasting.evaluateAndRetrain(
            ctx.tenant.id,
            boolParam(ctx, 'auto_trigger', true),
            { ...callOptions(ctx), thresholds: thresholds(ctx) },
          ),
        ),
      'production.generate_schedule': async (ctx) =>
        asResult(
          await production.generateSchedule(ctx.tenant.id, {
            ...callOptions(ctx),
            targetDate: this.businessDate(ctx),
          }),
        ),
      'procurement.calculate_needs': async (ctx) =>
        asResult(
          await procurement.calculateNeeds(ctx.tenant.id, {
            ...callOptions(ctx),
            daysAhead: planningDays(ctx),
            targetDate: this.businessDate(ctx),
          }),
        ),
      'inventory.project': async (ctx) =>
        asResult(
          await inventory.project(ctx.tenant.id, {
            ...callOptions(ctx),
            daysAhead: planningDays(ctx),
            startDate: this.businessDate(ctx),
          }),
        ),
      'notification.daily_summary': async (ctx) => {
        const date = this.businessDate(ctx);
        return asResult(
          await notification.sendDailySummary(
            {
              tenant_id: ctx.tenant.id,
              orchestration_run_id: ctx.runId,
              ...(date ? { date } : {}),
              summary: summarize(ctx.previousResults),
            },
            callOptions(ctx),
          ),
        );
      },
      'notification.weekly_digest': async (ctx) => {
        // the digest covers the seven days before the business date (a Monday slot: last week)
        const weekStart = dateParam(ctx, 'week_start') ?? shiftDate(this.businessDate(ctx), -7);
        return asResult(
          await notification.sendWeeklyDigest(
            {
              tenant_id: ctx.tenant.id,
              orchestration_run_id: ctx.runId,
              ...(weekStart ? { week_start: weekStart } : {}),
              summary: { ...summarize(ctx.previousResults) },
            },
            callOptions(ctx),
          ),
        );
      },
      'notification.workflow_failure': async (ctx) => {
        const workflowName = stringParam(ctx, 'workflow_name', true)!;
        const executionId = stringParam(ctx, 'execution_id') ?? ctx.executionId;
        const errorMessage = stringParam(ctx, 'error_message') ?? 'workflow failed';
        const failedStep = stringParam(ctx, 'failed_step');
        return asResult(
          await notification.sendWorkflowFailure(
            {
              tenant_id: ctx.tenant.id === '' ? null : ctx.tenant.id,
              workflow_name: workflowName,
              execution_id: executionId,
              orchestration_run_id: ctx.runId,
              error_message: errorMessage,
              ...(failedStep ? { failed_step: failedStep } : {}),
              ...(ctx.params.tenants_affected !== undefined
                ? { tenants_affected: tenantsAffected(ctx) }
                : {}),
            },
            callOptions(ctx),
          ),
        );
      },
      'training.retrain': async (ctx) => {
        const fromEvaluation = evaluationOf(ctx.previousResults);
        // the forecasting service already queued the retraining itself (auto_trigger)
        if (ctx.params.product_ids === undefined && fromEvaluation?.retraining_triggered === true) {
          return {
            skipped: true,
            reason: 'retraining already triggered by the evaluation',
            training_job_id: fromEvaluation.training_job_id ?? null,
            product_ids: [],
          };
        }
        const productIds = productIdsParam(ctx) ?? fromEvaluation?.retrain_product_ids ?? [];
        if (productIds.length === 0) {
          return { skipped: true, reason: 'no products to retrain', product_ids: [] };
        }
        const reason =
          stringParam(ctx, 'reason') ?? (fromEvaluation ? 'weekly_evaluation' : undefined);
        return asResult(
          await training.retrain(ctx.tenant.id, productIds, { ...callOptions(ctx), reason }),
        );
      },
      'alert_processor.archive_resolved': async (ctx) =>
        asResult(
          await alerts.archiveResolved(
            ctx.params.all_tenants === true ? null : ctx.tenant.id,
            olderThanDays(ctx),
            callOptions(ctx),
          ),
        ),
    };
    for (const name of OPERATION_NAMES) {
      if (typeof this.handlers[name] !== 'function')
        throw new Error(`no handler for operation ${name}`);
    }
  }

  names(): string[] {
    return Object.keys(this.handlers);
  }

  override summarize(name: string, result: OperationResult): StepResultSummary | null {
    return summarizeResult(name, result);
  }

  has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.handlers, name);
  }

  run(name: string, ctx: OperationContext): Promise<OperationResult> {
    if (!this.has(name)) {
      return Promise.reject(
        new ClientsError(
          ClientsErrorCode.UNKNOWN_OPERATION,
          `no client implements operation ${name}`,
        ),
      );
    }
    return this.handlers[name as OperationName](ctx);
  }

  /** Save-time check: unknown params and params the handler would refuse, each named. */
  override validateParams(name: string, params: Record<string, unknown>): string[] {
    if (!this.has(name)) return [`no client implements operation ${name}`];
    const operation = name as OperationName;
    const accepted = ACCEPTED_PARAMS[operation];
    const problems = Object.keys(params)
      .filter((key) => !accepted.includes(key))
      .map((key) =>
        accepted.length === 0
          ? `params.${key} is not accepted: ${name} takes no params`
          : `params.${key} is not accepted by ${name} (accepted: ${accepted.join(', ')})`,
      );
    const probe: OperationContext = {
      tenant: { id: 'validation' },
      executionId: 'validation',
      runId: 'validation',
      stepName: 'validation',
      params,
      previousResults: {},
      signal: new AbortController().signal,
      idempotencyKey: 'validation',
    };
    // each reader throws on its first problem; run them one param at a time to list all
    for (const key of Object.keys(params).filter((k) => accepted.includes(k))) {
      try {
        PARAM_CHECKS[operation]({ ...probe, params: { [key]: params[key] } });
      } catch (err) {
        if (!(err instanceof ClientsError)) throw err;
        problems.push(err.message.replace(/^step validation: /, ''));
      }
    }
    return problems;
  }

  /**
   * The day the work is for: the engine's business date (the slot's local date in the
   * tenant's timezone); for a caller outside the engine, today in the tenant's timezone
   * when known; else none, and the service applies its own default.
   */
  private businessDate(ctx: OperationContext): string | undefined {
    if (ctx.businessDate) return ctx.businessDate;
    const zone = ctx.tenant.timezone;
    if (!zone) return undefined;
    const date = DateTime.fromJSDate(this.clock.now()).setZone(zone);
    return date.isValid ? (date.toISODate() ?? undefined) : undefined;
  }
}

/** ctx → the HTTP core's per-call options; `retries` is retries, so attempts = retries + 1. */
export function callOptions(ctx: OperationContext): CallOptions {
  return {
    signal: ctx.signal,
    idempotencyKey: ctx.idempotencyKey,
    correlationId: ctx.runId,
    timeoutMs: ctx.timeoutSeconds !== undefined ? ctx.timeoutSeconds * 1000 : undefined,
    maxAttempts: ctx.retries !== undefined ? ctx.retries + 1 : undefined,
  };
}

const asResult = (value: object): OperationResult => value as OperationResult;

/** Distinct (date, days) pairs remembered: a run asks for one or two. */
const SHIFTED_DATES_KEPT = 1024;
const shiftedDates = new Map<string, string | undefined>();

/**
 * A YYYY-MM-DD date moved by whole calendar days (no timezone: dates, not instants).
 * Remembered: every tenant's validation step asks for the same day before the business
 * date, and luxon's parse and arithmetic showed in the bench/fanout profile (2026-12-07).
 */
export function shiftDate(date: string | undefined, days: number): string | undefined {
  if (!date) return undefined;
  const key = `${date}\u0000${days}`;
  if (shiftedDates.has(key)) return shiftedDates.get(key);
  const shifted = DateTime.fromISO(date, { zone: 'utc' }).plus({ days }).toISODate() ?? undefined;
  if (shiftedDates.size >= SHIFTED_DATES_KEPT) shiftedDates.clear();
  shiftedDates.set(key, shifted);
  return shifted;
}

const invalid = (ctx: OperationContext, message: string) =>
  new ClientsError(ClientsErrorCode.INVALID_PARAMS, `step ${ctx.stepName}: ${message}`);

function intParam(
  ctx: OperationContext,
  name: string,
  def: number,
  min: number,
  max: number,
): number {
  const v = ctx.params[name];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(ctx, `params.${name} must be an integer from ${min} to ${max}`);
  }
  return v;
}

function boolParam(ctx: OperationContext, name: string, def: boolean): boolean {
  const v = ctx.params[name];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') throw invalid(ctx, `params.${name} must be true or false`);
  return v;
}

function stringParam(ctx: OperationContext, name: string, required = false): string | undefined {
  const v = ctx.params[name];
  if (v === undefined || v === null) {
    if (required) throw invalid(ctx, `params.${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v === '')
    throw invalid(ctx, `params.${name} must be a non-empty string`);
  return v;
}

function dateParam(ctx: OperationContext, name: string): string | undefined {
  const v = stringParam(ctx, name);
  if (v !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    throw invalid(ctx, `params.${name} must be a date YYYY-MM-DD`);
  }
  return v;
}

function productIdsParam(ctx: OperationContext): string[] | undefined {
  const v = ctx.params.product_ids;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((id) => typeof id === 'string' && id !== '')) {
    throw invalid(ctx, 'params.product_ids must be a list of product ids');
  }
  return v as string[];
}

function thresholds(ctx: OperationContext): RetrainingEvaluationOptions {
  const out: RetrainingEvaluationOptions = {};
  for (const key of [
    'lookback_days',
    'mape_threshold',
    'mape_increase_threshold',
    'max_model_age_days',
  ] as const) {
    const v = ctx.params[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !(v >= 0))
      throw invalid(ctx, `params.${key} must be a non-negative number`);
    out[key] = v;
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/**
 * The daily summary from what earlier steps returned, recognised by shape rather than by
 * step name, so a renamed or reordered step still lands in the right place.
 */
export function summarize(previous: Record<string, unknown>): DailySummary {
  const summary: DailySummary = {};
  for (const value of Object.values(previous)) {
    if (!isObject(value)) continue;
    if ('forecast_run_id' in value && num(value.count) !== undefined) {
      summary.forecasts = present({
        count: value.count as number,
        products: num(value.products),
        total_predicted_units: num(value.total_predicted_units),
      });
    } else if ('schedule_id' in value && num(value.batches) !== undefined) {
      summary.production = present({
        batches: value.batches as number,
        total_units: num(value.total_units),
      });
    } else if (num(value.needs_count) !== undefined) {
      summary.procurement = present({
        needs_count: value.needs_count as number,
        estimated_cost: num(value.estimated_cost),
      });
    } else if ('projection_id' in value && num(value.items_projected) !== undefined) {
      summary.inventory = {
        items_projected: value.items_projected as number,
        stockout_risks: Array.isArray(value.stockout_risks) ? value.stockout_risks.length : 0,
      };
    } else if (
      num(value.overall_mape) !== undefined &&
      num(value.accuracy_percentage) !== undefined
    ) {
      summary.validation = present({
        overall_mape: value.overall_mape as number,
        accuracy_percentage: value.accuracy_percentage as number,
        coverage_percentage: num(value.coverage_percentage),
      });
    }
  }
  return summary;
}

/**
 * `fields` without the ones that are undefined, as JSON would leave them out. Built
 * directly: the whole summary by a JSON round trip took 3.7-4.3 µs a tenant, this way
 * 0.4-0.8 (a loop over a daily_operations tenant's results, 2026-12-07).
 */
function present<T extends object>(fields: T): T {
  const out = {} as T;
  for (const key in fields) if (fields[key] !== undefined) out[key] = fields[key];
  return out;
}

function evaluationOf(previous: Record<string, unknown>) {
  for (const value of Object.values(previous)) {
    if (isObject(value) && Array.isArray(value.retrain_product_ids)) {
      return value as {
        retrain_product_ids: string[];
        retraining_triggered?: boolean;
        training_job_id?: string | null;
      };
    }
  }
  return undefined;
}

/**
 * A step result is stored per tenant per day: keep the overall metrics and the few worst
 * products, not the whole breakdown (the forecasting service keeps that).
 */
function compactValidation(result: ForecastValidationResult): OperationResult {
  const { product_breakdown, ...overall } = result;
  const worst = [...(product_breakdown ?? [])]
    .sort((a, b) => b.mape - a.mape)
    .slice(0, VALIDATION_PRODUCTS_KEPT);
  return {
    ...overall,
    products_in_breakdown: product_breakdown?.length ?? 0,
    worst_products: worst,
  };
}
