import { Injectable } from '@nestjs/common';
import type { InventoryProjectionResult } from '../downstream.types';
import { HttpCore } from '../http/http-core';
import { CallOptions, callFields } from '../services';

/** The inventory service: projected stock levels. */
@Injectable()
export class InventoryClient {
  constructor(private readonly http: HttpCore) {}

  /** 14-day stock projection by default, from `start_date` (the business day) when given. */
  project(
    tenantId: string,
    options: CallOptions & { daysAhead?: number; startDate?: string } = {},
  ): Promise<InventoryProjectionResult> {
    return this.http.call<InventoryProjectionResult>({
      service: 'inventory',
      operation: 'inventory.project',
      method: 'POST',
      path: '/api/v1/inventory/projections/generate',
      body: {
        tenant_id: tenantId,
        days_ahead: options.daysAhead ?? 14,
        ...(options.startDate ? { start_date: options.startDate } : {}),
      },
      ...callFields(options, 'inventory.project'),
    });
  }
}
