import { randomUUID } from 'node:crypto';
import {
  INGREDIENTS,
  PRODUCTS,
  TenantRecord,
  dayRng,
  ingredientId,
  isoDate,
  productId,
  purchaseOrdersFor,
  supplierId,
  validationMetrics,
} from './data';
import { intBetween, round } from './prng';

/**
 * The downstream routes of docs/downstream-api.md. Each handler is a pure-ish function of
 * the validated request and the tenant's generated data; the server around it does auth,
 * faults, latency, idempotency and the journal.
 */

export interface SimResult {
  status: number;
  body: unknown;
}

export interface RouteRequest {
  body: Record<string, unknown>;
  query: URLSearchParams | null;
  /** resolved from body/query/path; undefined when the route takes no tenant or it is null */
  record: TenantRecord | undefined;
  seed: number;
  nowMs: number;
  anchorMs: number;
  purchaseOrdersPerTenant: number;
  tenantsById: ReadonlyMap<string, TenantRecord>;
}

export interface RouteDef {
  service: string;
  operation: string;
  method: 'GET' | 'POST';
  /** where tenant_id comes from */
  tenantFrom: 'body' | 'query' | 'path' | 'none';
  /** null tenant_id accepted (platform-wide notifications, archiving for every tenant) */
  tenantNullable?: boolean;
  /** work routes refuse suspended/cancelled tenants with 409; reads do not */
  requireActive: boolean;
  handle(req: RouteRequest): SimResult;
}

export class BadRequest extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const errorBody = (code: string, message: string, field?: string) => ({
  error: field === undefined ? { code, message } : { code, message, field },
});

function requireInt(body: Record<string, unknown>, field: string, min: number, max: number) {
  const v = body[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new BadRequest(field, `${field} must be an integer from ${min} to ${max}`);
  }
  return v;
}

function requireString(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v.trim() === '') {
    throw new BadRequest(field, `${field} is required`);
  }
  return v;
}

function optionalDate(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    throw new BadRequest(field, `${field} must be a date YYYY-MM-DD`);
  }
  return v;
}

export function queryInt(query: URLSearchParams | null, field: string, def: number, max: number) {
  const raw = query?.get(field);
  if (raw === null || raw === undefined) return def;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new BadRequest(field, `${field} must be an integer from 1 to ${max}`);
  }
  return Number(raw);
}

function queryInstant(query: URLSearchParams | null, field: string): number | undefined {
  const raw = query?.get(field);
  if (raw === null || raw === undefined) return undefined;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new BadRequest(field, `${field} must be an ISO 8601 instant`);
  return ms;
}

export function paginate<T>(items: readonly T[], page: number, pageSize: number) {
  const total = items.length;
  const totalPages = Math.max(1, Math.ceil(total / pageSize));
  return {
    items: items.slice((page - 1) * pageSize, page * pageSize),
    page,
    page_size: pageSize,
    total,
    total_pages: totalPages,
    next_page: page < totalPages ? page + 1 : null,
  };
}

// "yesterday" is the tenant's local yesterday; one formatter per zone, reused
const dateFormatters = new Map<string, Intl.DateTimeFormat>();
function localDate(ms: number, timeZone: string): string {
  let f = dateFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dateFormatters.set(timeZone, f);
  }
  return f.format(ms);
}

const DAY = 86_400_000;

/** The business day a request names (its UTC midnight), else the present. */
function dayOf(body: Record<string, unknown>, field: string, nowMs: number): number {
  const date = optionalDate(body, field);
  return date === undefined ? nowMs : Date.parse(`${date}T00:00:00Z`);
}
const PO_STATUSES = new Set(['draft', 'approved', 'sent', 'received', 'cancelled']);

export const ROUTES: RouteDef[] = [
  {
    service: 'forecasting',
    operation: 'forecasting.generate',
    method: 'POST',
    tenantFrom: 'body',
    requireActive: true,
    handle({ body, record, seed, nowMs }) {
      const days = requireInt(body, 'days_ahead', 1, 90);
      const day = dayOf(body, 'target_date', nowMs);
      const r = record!;
      const rng = dayRng(seed, r, 'forecast', isoDate(day));
      return {
        status: 200,
        body: {
          tenant_id: r.tenant.id,
          forecast_run_id: randomUUID(),
          days_ahead: days,
          count: r.productCount * days,
          products: r.productCount,
          start_date: isoDate(day + DAY),
          end_date: isoDate(day + days * DAY),
          total_predicted_units: r.productCount * days * intBetween(rng, 40, 90),
          generated_at: new Date(nowMs).toISOString(),
        },
      };
    },
  },
  {
    service: 'forecasting',
    operation: 'forecasting.validate',
    method: 'POST',
    tenantFrom: 'body',
    requireActive: true,
    handle({ body, record, seed, nowMs }) {
      const runId = requireString(body, 'orchestration_run_id');
      const r = record!;
      const day = optionalDate(body, 'date') ?? localDate(nowMs - DAY, r.tenant.timezone);
      return {
        status: 200,
        body: {
          validation_run_id: randomUUID(),
          tenant_id: r.tenant.id,
          orchestration_run_id: runId,
          validated_date: day,
          ...validationMetrics(seed, r, day),
          validated_at: new Date(nowMs).toISOString(),
        },
      };
    },
  },
  {
    service: 'forecasting',
    operation: 'forecasting.evaluate_and_retrain',
    method: 'POST',
    tenantFrom: 'body',
    requireActive: true,
    handle({ body, record, seed, nowMs }) {
      if (typeof body.auto_trigger !== 'boolean') {
        throw new BadRequest('auto_trigger', 'auto_trigger must be true or false');
      }
      const threshold = typeof body.mape_threshold === 'number' ? body.mape_threshold : 30;
      const r = record!;
      const rng = dayRng(seed, r, 'evaluate', isoDate(nowMs));
      const poor: Array<{
        product_id: string;
        product_name: string;
        mape: number;
        reason: string;
      }> = [];
      let mapeSum = 0;
      const reasons = ['mape_above_threshold', 'mape_degraded', 'model_stale'];
      for (let p = 0; p < r.productCount; p++) {
        const mape = round(5 + rng() * 35, 1);
        mapeSum += mape;
        const roll = rng();
        const reason =
          mape > threshold
            ? reasons[0]
            : roll < 0.05
              ? reasons[1]
              : roll < 0.08
                ? reasons[2]
                : null;
        if (reason) {
          poor.push({
            product_id: productId(seed, r.index, p),
            product_name: PRODUCTS[p],
            mape,
            reason,
          });
        }
      }
      const triggered = body.auto_trigger === true && poor.length > 0;
      return {
        status: 200,
        body: {
          tenant_id: r.tenant.id,
          products_evaluated: r.productCount,
          average_mape: round(mapeSum / r.productCount, 1),
          poor_performers: poor,
          retrain_product_ids: poor.map((p) => p.product_id),
          retraining_triggered: triggered,
          training_job_id: triggered ? randomUUID() : null,
          evaluated_at: new Date(nowMs).toISOString(),
        },
      };
    },
  },
  {
    service: 'production',
    operation: 'production.generate_schedule',
    method: 'POST',
    tenantFrom: 'body',
    requireActive: true,
    handle({ body, record, seed, nowMs }) {
      const day = dayOf(body, 'target_date', nowMs);
      const r = record!;
      const rng = dayRng(seed, r, 'production', isoDate(day));
      const batches = Math.ceil(r.productCount * 0.6) + intBetween(rng, 0, 6);
      return {
        status: 200,
        body: {
          tenant_id: r.tenant.id,
          schedule_id: randomUUID(),
          schedule_date: isoDate(day + DAY),
          batches,
          total_units: batches * intBetween(rng, 40, 120),
          products_planned: r.productCount,
          generated_at: new Date(nowMs).toISOString(),
        },
      };
    },
  },
  {
    service: 'procurement',
    operation: 'procurement.calculate_needs',
    method: 'POST',
    tenantFrom: 'body',
    requireActive: true,
    handle({ body, record, seed, nowMs }) {
      const days = requireInt(body, 'days_ahead', 1, 90);
      const day = dayOf(body, 'target_date', nowMs);
      const r = record!;
      const rng = dayRng(seed, r, 'procurement', isoDate(day));
      const count = intBetween(rng, 2, Math.max(2, Math.floor(r.ingredientCount / 2)));
      const needs = [];
      let cost = 0;
      for (let i = 0; i < count; i++) {
        const ing = (i * 7 + intBetween(rng, 0, 3)) % r.ingredientCount;
        const ingredient = INGREDIENTS[ing];
        const quantity = intBetween(rng, 5, 300);
        cost += quantity * ingredient.price;
        needs.push({
          ingredient_id: ingredientId(seed, r.index, ing),
          ingredient_name: ingredient.name,
          quantity,
          unit: ingredient.unit,
          needed_by: isoDate(day + intBetween(rng, 1, days) * DAY),
          supplier_id: supplierId(seed, ing % 8),
        });
      }
      return {
        status: 200,
        body: {
          tenant_id: r.tenant.id,
          days_ahead: days,
          needs_count: needs.length,
          needs,
          estimated_cost: round(cost, 2),
          currency: 'EUR',
          calculated_at: new Date(nowMs).toISOString(),
        },
      };
    },
  },
  {
    service: 'procurement',
    operation: 'procurement.list_purchase_orders',
    method: 'GET',
    tenantFrom: 'query',
    requireActive: false,
    handle({ query, record, seed, anchorMs, purchaseOrdersPerTenant }) {
      const statuses = (query?.get('status') ?? 'approved,sent').split(',').map((s) => s.trim());
      for (const s of statuses) {
        if (!PO_STATUSES.has(s))
          throw new BadRequest('status', `unknown purchase order status ${s}`);
      }
      const before = queryInstant(query, 'delivery_before');
      const after = queryInstant(query, 'delivery_after');
      const page = queryInt(query, 'page', 1, 1_000_000);
      const pageSize = queryInt(query, 'page_size', 100, 500);
      const items = purchaseOrdersFor(seed, record!, anchorMs, purchaseOrdersPerTenant)
        .filter(
          (p) =>
            statuses.includes(p.po.status) &&
            (before === undefined || p.startMs <= before) &&
            (after === undefined || p.endMs >= after),
        )
        .map((p) => p.po);
      return { status: 200, body: paginate(items, page, pageSize) };
    },
  },
  {
    service: 'inventory',
    operation: 'inventory.project',
    method: 'POST',
    tenantFrom: 'body',
    requireActive: true,
    handle({ body, record, seed, nowMs }) {
      const days = requireInt(body, 'days_ahead', 1, 90);
      const day = dayOf(body, 'start_date', nowMs);
      const r = record!;
      const rng = dayRng(seed, r, 'inventory', isoDate(day));
      const risks = [];
      const riskCount = intBetween(rng, 0, 3);
      for (let i = 0; i < riskCount; i++) {
        const ing = intBetween(rng, 0, r.ingredientCount - 1);
        risks.push({
          ingredient_id: ingredientId(seed, r.index, ing),
          ingredient_name: INGREDIENTS[ing].name,
          current_stock: round(rng() * 20, 1),
          unit: INGREDIENTS[ing].unit,
          projected_stockout_date: isoDate(day + intBetween(rng, 1, days) * DAY),
        });
      }
      return {
        status: 200,
        body: {
          tenant_id: r.tenant.id,
          projection_id: randomUUID(),
          start_date: isoDate(day),
          days_ahead: days,
          items_projected: r.ingredientCount + r.productCount,
          stockout_risks: risks,
          generated_at: new Date(nowMs).toISOString(),
        },
      };
    },
  },
  notificationRoute('notification.daily_summary', 'daily_summary', true, (body) => {
    requireString(body, 'orchestration_run_id');
    optionalDate(body, 'date');
    if (!isObject(body.summary)) {
      throw new BadRequest('summary', 'summary must be an object');
    }
  }),
  notificationRoute('notification.weekly_digest', 'weekly_digest', true, (body) => {
    requireString(body, 'orchestration_run_id');
    optionalDate(body, 'week_start');
    if (body.summary !== undefined && (typeof body.summary !== 'object' || body.summary === null)) {
      throw new BadRequest('summary', 'summary must be an object');
    }
  }),
  notificationRoute('notification.workflow_failure', 'workflow_failure', false, (body) => {
    requireString(body, 'workflow_name');
    requireString(body, 'error_message');
  }),
  {
    service: 'training',
    operation: 'training.retrain',
    method: 'POST',
    tenantFrom: 'body',
    requireActive: true,
    handle({ body, record }) {
      const ids = body.product_ids;
      if (
        !Array.isArray(ids) ||
        ids.length === 0 ||
        ids.length > 500 ||
        !ids.every((id) => typeof id === 'string' && id !== '')
      ) {
        throw new BadRequest('product_ids', 'product_ids must be 1 to 500 product ids');
      }
      return {
        status: 202,
        body: {
          job_id: randomUUID(),
          tenant_id: record!.tenant.id,
          product_ids: ids,
          status: 'queued',
          estimated_duration_seconds: 60 + ids.length * 30,
        },
      };
    },
  },
  {
    service: 'alert_processor',
    operation: 'alert_processor.archive_resolved',
    method: 'POST',
    tenantFrom: 'body',
    tenantNullable: true,
    requireActive: false,
    handle({ body, record, seed, nowMs, tenantsById }) {
      const days = requireInt(body, 'older_than_days', 1, 3650);
      const count = record
        ? intBetween(dayRng(seed, record, 'archive', isoDate(nowMs)), 0, 60)
        : tenantsById.size * 12;
      return {
        status: 200,
        body: {
          tenant_id: record?.tenant.id ?? null,
          older_than_days: days,
          cutoff: new Date(nowMs - days * DAY).toISOString(),
          archived_count: count,
        },
      };
    },
  },
];

function notificationRoute(
  operation: string,
  type: string,
  requireTenant: boolean,
  validate: (body: Record<string, unknown>) => void,
): RouteDef {
  return {
    service: 'notification',
    operation,
    method: 'POST',
    tenantFrom: 'body',
    tenantNullable: !requireTenant,
    requireActive: false,
    handle({ body, record }) {
      validate(body);
      const channels =
        record?.tenant.subscription_tier === 'enterprise' ? ['email', 'whatsapp'] : ['email'];
      return {
        status: 202,
        body: {
          notification_id: randomUUID(),
          tenant_id: record?.tenant.id ?? null,
          type,
          channels,
          status: 'queued',
          // what the summary carried, so a test can see the earlier steps' results arrived
          ...(isObject(body.summary) ? { summary_sections: Object.keys(body.summary).sort() } : {}),
        },
      };
    },
  };
}

export const ROUTE_PATHS: Record<string, string> = {
  'forecasting.generate': '/api/v1/forecasting/generate',
  'forecasting.validate': '/api/v1/forecasting/validate',
  'forecasting.evaluate_and_retrain': '/api/v1/forecasting/retraining/evaluate',
  'production.generate_schedule': '/api/v1/production/schedules/generate',
  'procurement.calculate_needs': '/api/v1/procurement/needs/calculate',
  'procurement.list_purchase_orders': '/api/v1/procurement/purchase-orders',
  'inventory.project': '/api/v1/inventory/projections/generate',
  'notification.daily_summary': '/api/v1/notifications/daily-summary',
  'notification.weekly_digest': '/api/v1/notifications/weekly-digest',
  'notification.workflow_failure': '/api/v1/notifications/workflow-failure',
  'training.retrain': '/api/v1/training/jobs/retrain',
  'alert_processor.archive_resolved': '/api/v1/alerts/archive-resolved',
};
