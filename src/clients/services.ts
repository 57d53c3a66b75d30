import type { EnvName } from 'src/config/env.schema';

/** The downstream services: metrics label, journal name, and the variable with its URL. */
export const SERVICE_URL_VAR = {
  tenant: 'TENANT_SERVICE_URL',
  forecasting: 'FORECASTING_SERVICE_URL',
  production: 'PRODUCTION_SERVICE_URL',
  procurement: 'PROCUREMENT_SERVICE_URL',
  inventory: 'INVENTORY_SERVICE_URL',
  notification: 'NOTIFICATION_SERVICE_URL',
  training: 'TRAINING_SERVICE_URL',
  alert_processor: 'ALERT_PROCESSOR_SERVICE_URL',
} as const satisfies Record<string, EnvName>;

export type ServiceName = keyof typeof SERVICE_URL_VAR;
export const SERVICE_NAMES = Object.keys(SERVICE_URL_VAR) as ServiceName[];

/**
 * Per-attempt timeouts. The three planning calls are the specification's (300/180/180 s:
 * they do real work); reads and notifications are quick or they are broken.
 */
export const OPERATION_TIMEOUT_MS = {
  'tenant.list': 15_000,
  'tenant.get': 10_000,
  'forecasting.generate': 300_000,
  'forecasting.validate': 120_000,
  'forecasting.evaluate_and_retrain': 180_000,
  'production.generate_schedule': 180_000,
  'procurement.calculate_needs': 180_000,
  'procurement.list_purchase_orders': 15_000,
  'inventory.project': 120_000,
  'notification.daily_summary': 15_000,
  'notification.weekly_digest': 15_000,
  'notification.workflow_failure': 15_000,
  'training.retrain': 30_000,
  'alert_processor.archive_resolved': 60_000,
} as const;

export type ClientOperation = keyof typeof OPERATION_TIMEOUT_MS;

/** What every client method accepts besides its own arguments. */
export interface CallOptions {
  signal?: AbortSignal;
  /** stable across retries and resumes of the same logical call */
  idempotencyKey?: string;
  /** the orchestration run, sent as X-Correlation-Id */
  correlationId?: string;
  requestId?: string;
  /** per-attempt timeout; default OPERATION_TIMEOUT_MS */
  timeoutMs?: number;
  /** attempts in all (1 = no retry); default the core's (3) */
  maxAttempts?: number;
  deadlineMs?: number;
}

/** The per-call fields of a CallSpec from a client method's options. */
export function callFields(options: CallOptions, operation: ClientOperation) {
  return {
    signal: options.signal,
    idempotencyKey: options.idempotencyKey,
    correlationId: options.correlationId,
    requestId: options.requestId,
    timeoutMs: options.timeoutMs ?? OPERATION_TIMEOUT_MS[operation],
    maxAttempts: options.maxAttempts,
    deadlineMs: options.deadlineMs,
  };
}
