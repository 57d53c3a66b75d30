import { Injectable } from '@nestjs/common';
import type { RetrainJob } from '../downstream.types';
import { HttpCore } from '../http/http-core';
import { CallOptions, callFields } from '../services';

/** The training service: model retraining jobs. */
@Injectable()
export class TrainingClient {
  constructor(private readonly http: HttpCore) {}

  /** Queues retraining of `productIds` (1-500). */
  retrain(
    tenantId: string,
    productIds: string[],
    options: CallOptions & { reason?: string } = {},
  ): Promise<RetrainJob> {
    return this.http.call<RetrainJob>({
      service: 'training',
      operation: 'training.retrain',
      method: 'POST',
      path: '/api/v1/training/jobs/retrain',
      body: {
        tenant_id: tenantId,
        product_ids: productIds,
        ...(options.reason ? { reason: options.reason } : {}),
      },
      ...callFields(options, 'training.retrain'),
    });
  }
}
