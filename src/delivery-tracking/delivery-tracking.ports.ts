import { Transaction } from 'src/database/transaction';
import { OutboxMessage } from 'src/events/event-contracts';
import { TrackedPurchaseOrder } from './delivery-rules';
import { DeliveryRunFinalStatus, DeliveryRunTrigger } from './delivery-run.repository';

/**
 * What delivery tracking needs from outside, as small ports: the adapters in
 * delivery-tracking.adapters.ts bind them to the downstream clients and the executions
 * facade, and tests bind fakes.
 */

/** The tenants to check: the active ones, by id. */
export abstract class DeliveryTenantSource {
  /** Throws (UpstreamError) when the tenant service cannot answer: the run then fails. */
  abstract listActiveTenantIds(signal: AbortSignal): Promise<string[]>;
}

/** Purchase orders still awaited (approved or sent), expected before `deliveryBefore` or past due. */
export abstract class PurchaseOrderSource {
  abstract listAwaitedOrders(
    tenantId: string,
    deliveryBefore: Date,
    signal: AbortSignal,
  ): Promise<TrackedPurchaseOrder[]>;
}

/** One finished run, as the execution history should show it. */
export interface DeliveryRunReport {
  runId: string;
  trigger: DeliveryRunTrigger;
  status: DeliveryRunFinalStatus;
  startedAt: Date;
  finishedAt: Date;
  summary: Record<string, unknown>;
  errorMessage: string | null;
  instanceId: string;
}

/**
 * Records a run in the execution history (orchestrator_executions belongs to the
 * executions module; bound to its RunHistoryService in delivery-tracking.adapters.ts).
 */
export abstract class DeliveryRunRecorder {
  abstract record(report: DeliveryRunReport): Promise<void>;
}

/**
 * Where alert events go: the outbox, written in the transaction that records the alert
 * (bound to OutboxService in delivery-tracking.module.ts).
 */
export abstract class DeliveryAlertOutbox {
  abstract enqueue(tx: Transaction, messages: OutboxMessage[]): Promise<string[]>;
}
