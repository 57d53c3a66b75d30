import { Injectable } from '@nestjs/common';
import type { ProductionScheduleResult } from '../downstream.types';
import { HttpCore } from '../http/http-core';
import { CallOptions, callFields } from '../services';

/** The production service: the bakery's production plan from the forecasts. */
@Injectable()
export class ProductionClient {
  constructor(private readonly http: HttpCore) {}

  /**
   * `POST /api/v1/production/schedules/generate` (the specification's route; 180 s
   * timeout); `target_date` (an addition) is the business day the plan is made on.
   */
  generateSchedule(
    tenantId: string,
    options: CallOptions & { targetDate?: string } = {},
  ): Promise<ProductionScheduleResult> {
    return this.http.call<ProductionScheduleResult>({
      service: 'production',
      operation: 'production.generate_schedule',
      method: 'POST',
      path: '/api/v1/production/schedules/generate',
      body: {
        tenant_id: tenantId,
        ...(options.targetDate ? { target_date: options.targetDate } : {}),
      },
      ...callFields(options, 'production.generate_schedule'),
    });
  }
}
