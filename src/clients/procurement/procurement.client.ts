import { Injectable } from '@nestjs/common';
import type {
  Page,
  ProcurementNeedsResult,
  PurchaseOrder,
  PurchaseOrderStatus,
} from '../downstream.types';
import { HttpCore } from '../http/http-core';
import { CallOptions, callFields } from '../services';

const MAX_PAGES = 1000;

export interface DeliveryQuery {
  /** only POs expected at or before this instant; past-due ones are always included */
  deliveryBefore: Date;
  /** only POs whose window ends at or after this instant (how far back to look) */
  deliveryAfter?: Date;
  /** default approved and sent; add `received` to see confirmed deliveries (auto-resolve) */
  statuses?: PurchaseOrderStatus[];
  pageSize?: number;
}

/** The procurement service: what to buy, and the purchase orders awaiting delivery. */
@Injectable()
export class ProcurementClient {
  constructor(private readonly http: HttpCore) {}

  /**
   * `POST /api/v1/procurement/needs/calculate` (the specification's route; 180 s
   * timeout); `target_date` (an addition) is the business day the needs count from.
   */
  calculateNeeds(
    tenantId: string,
    options: CallOptions & { daysAhead?: number; targetDate?: string } = {},
  ): Promise<ProcurementNeedsResult> {
    return this.http.call<ProcurementNeedsResult>({
      service: 'procurement',
      operation: 'procurement.calculate_needs',
      method: 'POST',
      path: '/api/v1/procurement/needs/calculate',
      body: {
        tenant_id: tenantId,
        days_ahead: options.daysAhead ?? 14,
        ...(options.targetDate ? { target_date: options.targetDate } : {}),
      },
      ...callFields(options, 'procurement.calculate_needs'),
    });
  }

  /** Purchase orders with a delivery due before `deliveryBefore` (or past due), every page. */
  async listPurchaseOrdersForDelivery(
    tenantId: string,
    query: DeliveryQuery,
    options: CallOptions = {},
  ): Promise<PurchaseOrder[]> {
    const out: PurchaseOrder[] = [];
    let page: number | null = 1;
    for (let n = 0; page !== null; n++) {
      if (n >= MAX_PAGES)
        throw new Error(`procurement.list_purchase_orders: more than ${MAX_PAGES} pages`);
      const result: Page<PurchaseOrder> = await this.http.call<Page<PurchaseOrder>>({
        service: 'procurement',
        operation: 'procurement.list_purchase_orders',
        method: 'GET',
        path: '/api/v1/procurement/purchase-orders',
        query: {
          tenant_id: tenantId,
          status: (query.statuses ?? ['approved', 'sent']).join(','),
          delivery_before: query.deliveryBefore.toISOString(),
          delivery_after: query.deliveryAfter?.toISOString(),
          page,
          page_size: query.pageSize ?? 200,
        },
        ...callFields(options, 'procurement.list_purchase_orders'),
      });
      out.push(...result.items);
      page = result.next_page;
    }
    return out;
  }
}
