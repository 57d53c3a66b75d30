import { randomUUID } from 'node:crypto';
import { Transaction } from 'src/database/transaction';
import { OutboxMessage } from 'src/events/event-contracts';
import {
  DeliveryAlertRepository,
  NewDeliveryAlert,
} from 'src/delivery-tracking/delivery-alert.repository';
import { SentDeliveryAlert, TrackedPurchaseOrder } from 'src/delivery-tracking/delivery-rules';
import {
  ActiveDeliveryRun,
  DeliveryRunFinish,
  DeliveryRunRecord,
  DeliveryRunRepository,
  DeliveryRunStart,
  StartRunOutcome,
} from 'src/delivery-tracking/delivery-run.repository';
import {
  DeliveryAlertOutbox,
  DeliveryRunRecorder,
  DeliveryRunReport,
  DeliveryTenantSource,
  PurchaseOrderSource,
} from 'src/delivery-tracking/delivery-tracking.ports';

/** In-memory stand-ins for unit tests; the integration suites use the real ones. */

export { FakeClock } from './fake-clock';

export class FakeTenantSource extends DeliveryTenantSource {
  failure: Error | null = null;
  constructor(public ids: string[]) {
    super();
  }
  async listActiveTenantIds(): Promise<string[]> {
    if (this.failure) throw this.failure;
    return [...this.ids];
  }
}

export class FakePurchaseOrderSource extends PurchaseOrderSource {
  readonly orders = new Map<string, TrackedPurchaseOrder[]>();
  readonly failing = new Set<string>();
  /** tenants whose call never answers until aborted */
  readonly hanging = new Set<string>();
  calls: { tenantId: string; deliveryBefore: Date }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  delayMs = 0;

  async listAwaitedOrders(
    tenantId: string,
    deliveryBefore: Date,
    signal: AbortSignal,
  ): Promise<TrackedPurchaseOrder[]> {
    this.calls.push({ tenantId, deliveryBefore });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.hanging.has(tenantId)) {
        await new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
        );
      }
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.failing.has(tenantId)) throw new Error('procurement answered 500');
      return this.orders.get(tenantId) ?? [];
    } finally {
      this.inFlight--;
    }
  }
}

/** Mirrors DeliveryAlertRepository, including the rollback when publishing throws. */
export class FakeDeliveryAlertRepository implements Pick<
  DeliveryAlertRepository,
  'findSent' | 'recordNew'
> {
  readonly rows: (NewDeliveryAlert & { tenantId: string })[] = [];

  async findSent(
    tenantId: string,
    ids: readonly string[],
  ): Promise<Map<string, SentDeliveryAlert[]>> {
    const out = new Map<string, SentDeliveryAlert[]>();
    for (const r of this.rows) {
      if (r.tenantId !== tenantId || !ids.includes(r.purchaseOrderId)) continue;
      const list = out.get(r.purchaseOrderId) ?? [];
      list.push({ alert_type: r.alertType, expected_delivery: r.expectedDelivery });
      out.set(r.purchaseOrderId, list);
    }
    return out;
  }

  async recordNew(
    tenantId: string,
    alerts: readonly NewDeliveryAlert[],
    publish: (tx: Transaction, recorded: NewDeliveryAlert[]) => Promise<void>,
  ): Promise<NewDeliveryAlert[]> {
    const key = (a: NewDeliveryAlert, t: string) =>
      `${t}|${a.purchaseOrderId}|${a.alertType}|${a.expectedDelivery.getTime()}`;
    const existing = new Set(this.rows.map((r) => key(r, r.tenantId)));
    const fresh = alerts.filter((a) => !existing.has(key(a, tenantId)));
    if (fresh.length > 0) await publish({} as Transaction, fresh);
    this.rows.push(...fresh.map((a) => ({ ...a, tenantId })));
    return fresh;
  }
}

export class FakeDeliveryRunRepository implements Pick<
  DeliveryRunRepository,
  'tryStart' | 'finish'
> {
  readonly runs: (DeliveryRunRecord & { leaseExpiresAt: Date })[] = [];

  async tryStart(run: DeliveryRunStart): Promise<StartRunOutcome> {
    const active = this.runs.find((r) => r.status === 'running');
    if (active && active.leaseExpiresAt > run.startedAt) {
      const view: ActiveDeliveryRun = {
        id: active.id,
        holder: active.holder,
        trigger: active.trigger,
        startedAt: active.startedAt,
        leaseExpiresAt: active.leaseExpiresAt,
      };
      return { started: false, active: view };
    }
    if (active) active.status = 'abandoned';
    const id = randomUUID();
    this.runs.push({
      id,
      status: 'running',
      trigger: run.trigger,
      holder: run.holder,
      startedAt: run.startedAt,
      leaseExpiresAt: run.leaseExpiresAt,
      finishedAt: null,
      summary: null,
      errorMessage: null,
    });
    return { started: true, runId: id };
  }

  async finish(runId: string, outcome: DeliveryRunFinish): Promise<void> {
    const run = this.runs.find((r) => r.id === runId && r.status === 'running');
    if (run) Object.assign(run, outcome);
  }
}

export class FakeOutbox extends DeliveryAlertOutbox {
  readonly messages: OutboxMessage[] = [];
  failNext = 0;
  async enqueue(_tx: Transaction, messages: OutboxMessage[]): Promise<string[]> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('outbox insert failed');
    }
    this.messages.push(...messages);
    return messages.map((m) => String(m.payload.event_id));
  }
}

export class FakeRunRecorder extends DeliveryRunRecorder {
  readonly reports: DeliveryRunReport[] = [];
  failure: Error | null = null;
  async record(report: DeliveryRunReport): Promise<void> {
    if (this.failure) throw this.failure;
    this.reports.push(report);
  }
}
