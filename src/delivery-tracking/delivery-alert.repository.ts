import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Transaction } from 'src/database/transaction';
import { DeliveryAlertType, SentDeliveryAlert } from './delivery-rules';

/** An alert about to be recorded; `eventId` is also the published event's id. */
export interface NewDeliveryAlert {
  eventId: string;
  purchaseOrderId: string;
  poNumber: string;
  alertType: DeliveryAlertType;
  expectedDelivery: Date;
  sentAt: Date;
}

const COLUMNS_PER_ROW = 7;

/** orchestrator_delivery_alerts: which alert was sent for which order and window. */
@Injectable()
export class DeliveryAlertRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The alerts already recorded for these orders of one tenant, by order id. */
  async findSent(
    tenantId: string,
    purchaseOrderIds: readonly string[],
  ): Promise<Map<string, SentDeliveryAlert[]>> {
    const byOrder = new Map<string, SentDeliveryAlert[]>();
    if (purchaseOrderIds.length === 0) return byOrder;
    const rows: {
      purchase_order_id: string;
      alert_type: DeliveryAlertType;
      expected_delivery: Date;
    }[] = await this.dataSource.query(
      `SELECT purchase_order_id, alert_type, expected_delivery
           FROM orchestrator_delivery_alerts
          WHERE tenant_id = $1 AND purchase_order_id = ANY($2::varchar[])`,
      [tenantId, purchaseOrderIds],
    );
    for (const row of rows) {
      const list = byOrder.get(row.purchase_order_id) ?? [];
      list.push({ alert_type: row.alert_type, expected_delivery: new Date(row.expected_delivery) });
      byOrder.set(row.purchase_order_id, list);
    }
    return byOrder;
  }

  /**
   * Records the alerts that are not recorded yet and, in the same transaction, hands the
   * newly recorded ones to `publish` (the outbox). The unique key decides, not the
   * earlier read: two replicas racing on the same order both try, one row wins, and only
   * its transaction enqueues the event. If `publish` throws, nothing is recorded and the
   * next run tries again.
   */
  async recordNew(
    tenantId: string,
    alerts: readonly NewDeliveryAlert[],
    publish: (tx: Transaction, recorded: NewDeliveryAlert[]) => Promise<void>,
  ): Promise<NewDeliveryAlert[]> {
    if (alerts.length === 0) return [];
    // one order of insertion everywhere, so two transactions on the same keys cannot deadlock
    const sorted = [...alerts].sort(
      (a, b) =>
        a.purchaseOrderId.localeCompare(b.purchaseOrderId) ||
        a.alertType.localeCompare(b.alertType) ||
        a.expectedDelivery.getTime() - b.expectedDelivery.getTime(),
    );
    const params: unknown[] = [];
    const values = sorted.map((a, i) => {
      params.push(
        tenantId,
        a.purchaseOrderId,
        a.poNumber,
        a.alertType,
        a.expectedDelivery,
        a.eventId,
        a.sentAt,
      );
      const base = i * COLUMNS_PER_ROW;
      return `(${Array.from({ length: COLUMNS_PER_ROW }, (_, k) => `$${base + k + 1}`).join(', ')})`;
    });
    return this.dataSource.transaction(async (tx) => {
      const inserted: { event_id: string }[] = await tx.query(
        `INSERT INTO orchestrator_delivery_alerts
           (tenant_id, purchase_order_id, po_number, alert_type, expected_delivery, event_id, sent_at)
         VALUES ${values.join(', ')}
         ON CONFLICT (tenant_id, purchase_order_id, alert_type, expected_delivery) DO NOTHING
         RETURNING event_id`,
        params,
      );
      const won = new Set(inserted.map((r) => r.event_id));
      const recorded = sorted.filter((a) => won.has(a.eventId));
      if (recorded.length > 0) await publish(tx, recorded);
      return recorded;
    });
  }
}
