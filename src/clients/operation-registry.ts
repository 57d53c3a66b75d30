import type { SubscriptionTier } from 'src/common/tenancy/subscription-tier';

/**
 * The contract between the engine and the clients: a workflow step names an operation
 * (`forecasting.generate`), never a URL. The clients module registers one handler per
 * operation; the engine checks names at save time and calls them at run time.
 */

export type { SubscriptionTier };
export type TenantStatus = 'active' | 'suspended' | 'cancelled';

export interface Tenant {
  id: string;
  name: string;
  status: TenantStatus;
  subscription_tier: SubscriptionTier;
  timezone: string;
  /** holiday calendar: ISO country and optional region code, e.g. { country: 'ES', region: 'MD' } */
  region: { country: string; region?: string | null };
}

export interface OperationContext {
  tenant: Pick<Tenant, 'id'> & Partial<Tenant>;
  /** the tenant execution running the step */
  executionId: string;
  /** the parent (whole run) execution: the `orchestration_run_id` downstream services see */
  runId: string;
  stepName: string;
  params: Record<string, unknown>;
  /** results of the steps this one depends on (and all completed earlier steps), by step name */
  previousResults: Record<string, unknown>;
  /** aborts in-flight calls: workflow deadline, shutdown, cancellation */
  signal: AbortSignal;
  /**
   * the same for every attempt at this step of this tenant for this slot: engine
   * retries, manual retries, backfills of the slot and resumed leases (see
   * src/executions/runner/step-key.ts), so work done once is answered from the
   * downstream's cache
   */
  idempotencyKey: string;
  /** the run's slot (`scheduled_for`): the instant the work is for, not when it runs */
  scheduledFor?: Date;
  /**
   * the slot's local date in the tenant's timezone (YYYY-MM-DD): the business day every
   * dated operation works on, so a backfill or catch-up does that day's work
   */
  businessDate?: string;
  /** per-attempt timeout override from the step definition (seconds) */
  timeoutSeconds?: number;
  /** attempt count override from the step definition (the HTTP core's retries) */
  retries?: number;
}

export type OperationResult = Record<string, unknown>;
export type OperationHandler = (ctx: OperationContext) => Promise<OperationResult>;

export const OPERATION_NAMES = [
  'forecasting.generate',
  'forecasting.validate',
  'forecasting.evaluate_and_retrain',
  'production.generate_schedule',
  'procurement.calculate_needs',
  'inventory.project',
  'notification.daily_summary',
  'notification.weekly_digest',
  'notification.workflow_failure',
  'training.retrain',
  'alert_processor.archive_resolved',
] as const;
export type OperationName = (typeof OPERATION_NAMES)[number];

/** Implemented by the clients module (ClientsModule exports it). */
export abstract class OperationRegistry {
  abstract names(): string[];
  abstract has(name: string): boolean;
  /** Throws UpstreamError on failure (with `retryable`), never anything else for HTTP problems. */
  abstract run(name: string, ctx: OperationContext): Promise<OperationResult>;
  /**
   * Save-time check of a step's params (added after the first contract, hence optional):
   * one message per problem, each naming the field (`params.days_ahead must be ...`); empty
   * when the params would make a valid request. ClientOperationRegistry implements it.
   */
  validateParams?(name: string, params: Record<string, unknown>): string[];
  /**
   * A step's result in one line with its figures ("Generated 42 forecasts"), from the
   * operation's answer; null when the answer does not carry them. Optional like
   * validateParams: a fake registry may leave it out.
   */
  summarize?(name: string, result: OperationResult): StepResultSummary | null;
}

export type { StepResultSummary } from './result-summary';
import type { StepResultSummary } from './result-summary';
