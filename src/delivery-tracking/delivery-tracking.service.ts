import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from 'src/common/time/clock';
import { deadline, isTimedOut } from 'src/common/time/deadline';
import { AppConfig } from 'src/config/app-config.service';
import { InstanceIdentity } from 'src/config/instance-identity';
import { SUPPLY_CHAIN_ALERTS_EXCHANGE } from 'src/events/event-contracts';
import { buildDeliveryAlertEvent, deliveryAlertRoutingKey } from './delivery-alert.event';
import { DeliveryAlertRepository, NewDeliveryAlert } from './delivery-alert.repository';
import {
  DELIVERY_ALERT_TYPES,
  DeliveryAlertDecision,
  DeliveryAlertType,
  decideDeliveryAlerts,
  dueAlertTypes,
} from './delivery-rules';
import {
  ActiveDeliveryRun,
  DeliveryRunFinalStatus,
  DeliveryRunRepository,
  DeliveryRunTrigger,
} from './delivery-run.repository';
import { DeliveryTrackingErrorCode } from './delivery-tracking.errors';
import { DeliveryTrackingMetrics } from './delivery-tracking.metrics';
import {
  DeliveryAlertOutbox,
  DeliveryRunRecorder,
  DeliveryTenantSource,
  PurchaseOrderSource,
} from './delivery-tracking.ports';

/** The specification's lookahead: orders expected within the next 48 h, or past due. */
export const LOOKAHEAD_MS = 48 * 3600_000;
/** A dead run's lease outlives its deadline by this much, so a slow finish is not mistaken for death. */
const LEASE_MARGIN_MS = 60_000;

/** The JSON summary of a run (the CLI's last line, the run row, the execution history). */
export interface DeliveryTrackingSummary {
  /** active tenants the run had to check */
  tenants: number;
  purchase_orders_checked: number;
  alerts: Record<DeliveryAlertType, number>;
  /** tenants whose check failed */
  errors: number;
  /** tenants not reached before the deadline or cancellation */
  tenants_not_checked: number;
}

export type DeliveryTrackingOutcome =
  | {
      status: 'completed';
      runId: string;
      summary: DeliveryTrackingSummary;
      durationSeconds: number;
    }
  | {
      status: 'failed';
      runId: string;
      summary: DeliveryTrackingSummary;
      durationSeconds: number;
      code: DeliveryTrackingErrorCode;
      message: string;
    }
  /** another run holds the lock (concurrencyPolicy: Forbid); nothing was done */
  | { status: 'refused'; active: ActiveDeliveryRun | null };

export interface DeliveryTrackingRunOptions {
  trigger: DeliveryRunTrigger;
  /** the instant the rules compare against; default the clock's now */
  now?: Date;
  /** default now + DELIVERY_TRACKING_DEADLINE_SECONDS */
  deadline?: Date;
  /** cancels the run (shutdown): in-flight calls are aborted, unstarted tenants skipped */
  signal?: AbortSignal;
}

interface Tally {
  checked: number;
  errors: number;
  ordersChecked: number;
  alerts: Record<DeliveryAlertType, number>;
}

/**
 * Hourly delivery alerts (specification "Delivery Tracking Service"). For every active
 * tenant, with bounded concurrency: list the awaited purchase orders, apply the pure rules
 * of delivery-rules.ts, and record each new alert with its outbox event in one
 * transaction. One run at a time across every pod and trigger (cron or CLI).
 */
@Injectable()
export class DeliveryTrackingService {
  private readonly logger = new Logger(DeliveryTrackingService.name);
  /** the run lock's holder and the history's executed_by_instance: this instance's id */
  private readonly holder: string;

  constructor(
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(DeliveryTenantSource) private readonly tenants: DeliveryTenantSource,
    @Inject(PurchaseOrderSource) private readonly orders: PurchaseOrderSource,
    @Inject(DeliveryAlertRepository) private readonly alerts: DeliveryAlertRepository,
    @Inject(DeliveryRunRepository) private readonly runs: DeliveryRunRepository,
    @Inject(DeliveryAlertOutbox) private readonly outbox: DeliveryAlertOutbox,
    @Inject(DeliveryRunRecorder) private readonly recorder: DeliveryRunRecorder,
    @Inject(DeliveryTrackingMetrics) private readonly metrics: DeliveryTrackingMetrics,
    @Inject(InstanceIdentity) identity: InstanceIdentity,
  ) {
    this.holder = identity.id;
  }

  /**
   * One run over every active tenant, unless another is active (then `refused`). Tenant
   * failures are counted, not thrown; the run fails only when nothing useful could be
   * done (tenants not listable, every tenant failed) or the deadline cut it short.
   * Throws only when the database cannot record the run at all.
   */
  async run(options: DeliveryTrackingRunOptions): Promise<DeliveryTrackingOutcome> {
    // the lease runs on the clock; `now` may be another instant (a replay, a test)
    const startedAt = this.clock.now();
    const now = options.now ?? startedAt;
    const deadline =
      options.deadline ??
      new Date(startedAt.getTime() + this.config.get('DELIVERY_TRACKING_DEADLINE_SECONDS') * 1000);
    const start = await this.runs.tryStart({
      trigger: options.trigger,
      holder: this.holder,
      startedAt,
      leaseExpiresAt: new Date(deadline.getTime() + LEASE_MARGIN_MS),
    });
    if (!start.started) {
      this.logger.warn({
        msg: 'delivery tracking not started: another run is still active',
        activeRunId: start.active?.id ?? null,
        activeHolder: start.active?.holder ?? null,
        activeStartedAt: start.active?.startedAt.toISOString() ?? null,
      });
      return { status: 'refused', active: start.active };
    }
    const { runId } = start;
    this.logger.log({ msg: 'delivery tracking run started', runId, trigger: options.trigger });

    const tally: Tally = { checked: 0, errors: 0, ordersChecked: 0, alerts: zeroAlerts() };
    let tenantCount = 0;
    let failure: { code: DeliveryTrackingErrorCode; message: string } | null = null;
    const signal = this.runSignal(deadline, options.signal);
    let tenantIds: string[] | null = null;
    try {
      tenantIds = await this.tenants.listActiveTenantIds(signal);
    } catch (err) {
      failure = {
        code: DeliveryTrackingErrorCode.TENANTS_UNAVAILABLE,
        message: `active tenants could not be listed: ${(err as Error).message}`,
      };
    }
    if (tenantIds) {
      tenantCount = tenantIds.length;
      await this.checkTenants(tenantIds, now, signal, tally);
      failure = this.judge(tenantCount, tally, deadline, isTimedOut(signal));
    }

    const durationSeconds = (this.clock.now().getTime() - startedAt.getTime()) / 1000;
    const summary: DeliveryTrackingSummary = {
      tenants: tenantCount,
      purchase_orders_checked: tally.ordersChecked,
      alerts: tally.alerts,
      errors: tally.errors,
      tenants_not_checked: tenantCount - tally.checked - tally.errors,
    };
    const status = failure ? 'failed' : 'completed';
    this.metrics.jobDuration.observe({ status }, durationSeconds);
    if (failure) this.metrics.errors.inc({ reason: failure.code.toLowerCase() });
    await this.finishRun(runId, options.trigger, startedAt, status, summary, failure);

    const fields = { runId, status, durationSeconds, ...summary };
    if (failure) {
      this.logger.error({ msg: 'delivery tracking run failed', ...fields, ...failure });
      return { status: 'failed', runId, summary, durationSeconds, ...failure };
    }
    this.logger.log({ msg: 'delivery tracking run completed', ...fields });
    return { status: 'completed', runId, summary, durationSeconds };
  }

  /** Tenant failures are counted; the run fails only when it could not do its job. */
  private judge(
    tenantCount: number,
    tally: Tally,
    deadline: Date,
    deadlineHit: boolean,
  ): { code: DeliveryTrackingErrorCode; message: string } | null {
    const notChecked = tenantCount - tally.checked - tally.errors;
    if (notChecked > 0) {
      return deadlineHit
        ? {
            code: DeliveryTrackingErrorCode.DEADLINE_EXCEEDED,
            message: `deadline ${deadline.toISOString()} reached with ${notChecked} tenants not checked`,
          }
        : {
            code: DeliveryTrackingErrorCode.CANCELLED,
            message: `cancelled with ${notChecked} tenants not checked`,
          };
    }
    if (tally.errors > 0 && tally.errors === tenantCount) {
      return {
        code: DeliveryTrackingErrorCode.ALL_TENANTS_FAILED,
        message: `all ${tenantCount} tenants failed to be checked`,
      };
    }
    return null;
  }

  private async checkTenants(
    tenantIds: string[],
    now: Date,
    signal: AbortSignal,
    tally: Tally,
  ): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (!signal.aborted) {
        const index = next++;
        if (index >= tenantIds.length) return;
        const tenantId = tenantIds[index];
        try {
          await this.checkTenant(tenantId, now, signal, tally);
          tally.checked++;
        } catch (err) {
          // a call cut by the deadline or a shutdown is "not checked", not a tenant failure
          if (signal.aborted) return;
          tally.errors++;
          this.metrics.errors.inc({ reason: 'tenant' });
          this.logger.warn({
            msg: 'delivery tracking failed for a tenant',
            tenantId,
            error: (err as Error).message,
          });
        }
      }
    };
    const workers = Math.min(this.config.get('DELIVERY_TRACKING_CONCURRENCY'), tenantIds.length);
    await Promise.all(Array.from({ length: workers }, worker));
  }

  private async checkTenant(
    tenantId: string,
    now: Date,
    signal: AbortSignal,
    tally: Tally,
  ): Promise<void> {
    const orders = await this.orders.listAwaitedOrders(
      tenantId,
      new Date(now.getTime() + LOOKAHEAD_MS),
      signal,
    );
    tally.ordersChecked += orders.length;
    this.metrics.deliveriesChecked.inc(orders.length);
    // most orders need nothing this hour: only those with a due alert cost a database read
    const candidates = orders.filter((po) => dueAlertTypes(po, now).length > 0);
    if (candidates.length === 0) return;
    const sent = await this.alerts.findSent(
      tenantId,
      candidates.map((po) => po.id),
    );
    const decisions: DeliveryAlertDecision[] = candidates.flatMap((po) =>
      decideDeliveryAlerts(po, now, sent.get(po.id) ?? []),
    );
    if (decisions.length === 0) return;
    if (signal.aborted) throw new Error('aborted before recording alerts');

    const byEventId = new Map<string, DeliveryAlertDecision>();
    const rows: NewDeliveryAlert[] = decisions.map((d) => {
      const eventId = randomUUID();
      byEventId.set(eventId, d);
      return {
        eventId,
        purchaseOrderId: d.purchase_order_id,
        poNumber: d.context.po_number,
        alertType: d.type,
        expectedDelivery: d.expected_delivery,
        sentAt: now,
      };
    });
    const recorded = await this.alerts.recordNew(tenantId, rows, async (tx, fresh) => {
      await this.outbox.enqueue(
        tx,
        fresh.map((row) => ({
          exchange: SUPPLY_CHAIN_ALERTS_EXCHANGE,
          routingKey: deliveryAlertRoutingKey(row.alertType),
          payload: {
            ...buildDeliveryAlertEvent(byEventId.get(row.eventId)!, tenantId, row.eventId, now),
          },
        })),
      );
    });
    for (const row of recorded) {
      tally.alerts[row.alertType]++;
      this.metrics.countAlert(row.alertType);
      this.logAlert(tenantId, byEventId.get(row.eventId)!);
    }
  }

  private logAlert(tenantId: string, d: DeliveryAlertDecision): void {
    const alert = { alertType: d.type, tenantId, poNumber: d.context.po_number };
    switch (d.type) {
      case 'DELIVERY_ARRIVING_SOON':
        this.logger.log({
          msg: 'delivery alert generated',
          ...alert,
          minutesUntilDelivery: Number(d.context.minutes_until_delivery),
        });
        return;
      case 'DELIVERY_OVERDUE':
        this.logger.warn({
          msg: 'delivery alert generated',
          ...alert,
          delayMinutes: Number(d.context.delay_minutes),
        });
        return;
      case 'STOCK_RECEIPT_INCOMPLETE':
        this.logger.log({
          msg: 'delivery alert generated',
          ...alert,
          receiptStatus: String(d.context.receipt_status),
        });
    }
  }

  private async finishRun(
    runId: string,
    trigger: DeliveryRunTrigger,
    startedAt: Date,
    status: DeliveryRunFinalStatus,
    summary: DeliveryTrackingSummary,
    failure: { code: DeliveryTrackingErrorCode; message: string } | null,
  ): Promise<void> {
    const finishedAt = this.clock.now();
    const errorMessage = failure ? `${failure.code}: ${failure.message}` : null;
    await this.runs.finish(runId, {
      status,
      finishedAt,
      summary: { ...summary },
      errorMessage,
    });
    try {
      await this.recorder.record({
        runId,
        trigger,
        status,
        startedAt,
        finishedAt,
        summary: { ...summary },
        errorMessage,
        instanceId: this.holder,
      });
    } catch (err) {
      // the run and its alerts stand; only the history entry is missing
      this.logger.warn({
        msg: 'delivery tracking run not recorded in the execution history',
        runId,
        error: (err as Error).message,
      });
    }
  }

  /** One signal for the run: the caller's cancellation or the deadline, whichever first. */
  private runSignal(deadlineAt: Date, external?: AbortSignal): AbortSignal {
    const signal = deadline(deadlineAt.getTime() - this.clock.now().getTime(), external);
    // every tenant in flight listens to it (each HTTP call adds a listener): not a leak
    setMaxListeners(this.config.get('DELIVERY_TRACKING_CONCURRENCY') * 4 + 16, signal);
    return signal;
  }
}

function zeroAlerts(): Record<DeliveryAlertType, number> {
  return Object.fromEntries(DELIVERY_ALERT_TYPES.map((t) => [t, 0])) as Record<
    DeliveryAlertType,
    number
  >;
}
