import { Injectable } from '@nestjs/common';
import type {
  ForecastResult,
  ForecastValidationResult,
  RetrainingEvaluationOptions,
  RetrainingEvaluationResult,
} from '../downstream.types';
import { HttpCore } from '../http/http-core';
import { CallOptions, callFields } from '../services';

/** The forecasting service: demand forecasts, their validation, and model evaluation. */
@Injectable()
export class ForecastingClient {
  constructor(private readonly http: HttpCore) {}

  /**
   * `POST /api/v1/forecasting/generate` (the specification's route; 300 s timeout);
   * `target_date` (an addition) is the business day the forecasts start after.
   */
  generate(
    tenantId: string,
    options: CallOptions & { daysAhead?: number; targetDate?: string } = {},
  ): Promise<ForecastResult> {
    return this.http.call<ForecastResult>({
      service: 'forecasting',
      operation: 'forecasting.generate',
      method: 'POST',
      path: '/api/v1/forecasting/generate',
      body: {
        tenant_id: tenantId,
        days_ahead: options.daysAhead ?? 7,
        ...(options.targetDate ? { target_date: options.targetDate } : {}),
      },
      ...callFields(options, 'forecasting.generate'),
    });
  }

  /** Yesterday's forecasts (or `date`'s) against actual sales. */
  validate(
    tenantId: string,
    orchestrationRunId: string,
    options: CallOptions & { date?: string } = {},
  ): Promise<ForecastValidationResult> {
    return this.http.call<ForecastValidationResult>({
      service: 'forecasting',
      operation: 'forecasting.validate',
      method: 'POST',
      path: '/api/v1/forecasting/validate',
      body: {
        tenant_id: tenantId,
        orchestration_run_id: orchestrationRunId,
        ...(options.date ? { date: options.date } : {}),
      },
      ...callFields(options, 'forecasting.validate'),
    });
  }

  /** Weekly: find poorly performing models; with autoTrigger the service asks for retraining itself. */
  evaluateAndRetrain(
    tenantId: string,
    autoTrigger: boolean,
    options: CallOptions & { thresholds?: RetrainingEvaluationOptions } = {},
  ): Promise<RetrainingEvaluationResult> {
    return this.http.call<RetrainingEvaluationResult>({
      service: 'forecasting',
      operation: 'forecasting.evaluate_and_retrain',
      method: 'POST',
      path: '/api/v1/forecasting/retraining/evaluate',
      body: { tenant_id: tenantId, auto_trigger: autoTrigger, ...options.thresholds },
      ...callFields(options, 'forecasting.evaluate_and_retrain'),
    });
  }
}
