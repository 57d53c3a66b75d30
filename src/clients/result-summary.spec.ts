import { summarizeResult } from './result-summary';

describe('summarizeResult', () => {
  it.each([
    [
      'forecasting.generate',
      { count: 42, products: 6, days_ahead: 7, total_predicted_units: 900 },
      'Generated 42 forecasts for 6 products over 7 days',
    ],
    [
      'forecasting.validate',
      { forecasts_validated: 6, overall_mape: 12.34, accuracy_percentage: 87.66 },
      'Validated 6 forecasts: MAPE=12.3 %, accuracy 87.7 %',
    ],
    [
      'forecasting.evaluate_and_retrain',
      {
        products_evaluated: 8,
        average_mape: 21.05,
        poor_performers: [{}, {}],
        retraining_triggered: true,
      },
      'Evaluated 8 models: average MAPE=21.1 %, 2 poor, retraining triggered',
    ],
    [
      'production.generate_schedule',
      { batches: 1, total_units: 40 },
      'Planned 1 production batch (40 units)',
    ],
    [
      'procurement.calculate_needs',
      { needs_count: 3, estimated_cost: 120.5, currency: 'EUR' },
      'Calculated 3 purchase needs, estimated 120.50 EUR',
    ],
    [
      'inventory.project',
      { items_projected: 12, days_ahead: 14, stockout_risks: [{}] },
      'Projected 12 items over 14 days: 1 stockout risk',
    ],
    [
      'notification.daily_summary',
      { type: 'daily_summary', channels: ['email', 'push'] },
      'Sent the daily summary (email, push)',
    ],
    [
      'training.retrain',
      { skipped: true, reason: 'no products to retrain' },
      'Retraining skipped: no products to retrain',
    ],
    ['alert_processor.archive_resolved', { archived_count: 0 }, 'Archived 0 resolved alerts'],
  ])('summarizes %s', (operation, answer, text) => {
    expect(summarizeResult(operation, answer)?.text).toBe(text);
  });

  it('keeps the figures behind the sentence', () => {
    expect(summarizeResult('forecasting.validate', { overall_mape: 9.5 })?.figures).toMatchObject({
      mape: 9.5,
      forecasts_validated: null,
    });
  });

  it('gives nothing for an answer without the figures it needs, or an unknown operation', () => {
    expect(summarizeResult('forecasting.generate', { products: 3 })).toBeNull();
    expect(summarizeResult('forecasting.generate', null)).toBeNull();
    expect(summarizeResult('unknown.op', { count: 1 })).toBeNull();
  });
});
