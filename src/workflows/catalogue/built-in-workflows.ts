import type { Env } from 'src/config/env.schema';
import type { WorkflowEntity } from '../workflow.entity';

export type WorkflowSeed = Pick<
  WorkflowEntity,
  | 'workflowName'
  | 'workflowType'
  | 'description'
  | 'cronExpression'
  | 'timezone'
  | 'maxExecutionTimeSeconds'
  | 'maxRetries'
  | 'retryDelaySeconds'
  | 'steps'
>;

/**
 * The workflows every installation has. Installed on start when missing; an existing
 * row is never overwritten, so edits made through the API survive restarts.
 */
export function builtInWorkflows(
  env: Pick<
    Env,
    | 'DAILY_WORKFLOW_CRON'
    | 'WEEKLY_WORKFLOW_CRON'
    | 'DEFAULT_TIMEZONE'
    | 'MAX_WORKFLOW_DURATION_SECONDS'
  >,
): WorkflowSeed[] {
  const common = {
    timezone: env.DEFAULT_TIMEZONE,
    maxExecutionTimeSeconds: env.MAX_WORKFLOW_DURATION_SECONDS,
    maxRetries: 3,
    retryDelaySeconds: 300,
  };
  return [
    {
      ...common,
      workflowName: 'daily_operations',
      workflowType: 'daily',
      description:
        'Every morning per bakery: 7-day forecasts, production plan, procurement needs, 14-day inventory ' +
        "projection, validation of yesterday's forecasts, daily summary to the owner.",
      cronExpression: env.DAILY_WORKFLOW_CRON,
      steps: [
        {
          name: 'generate_forecasts',
          operation: 'forecasting.generate',
          params: { days_ahead: 7 },
          timeout_seconds: 300,
        },
        {
          name: 'calculate_production',
          operation: 'production.generate_schedule',
          depends_on: ['generate_forecasts'],
          timeout_seconds: 180,
        },
        {
          name: 'calculate_procurement',
          operation: 'procurement.calculate_needs',
          params: { days_ahead: 14 },
          depends_on: ['calculate_production'],
          timeout_seconds: 180,
        },
        {
          name: 'project_inventory',
          operation: 'inventory.project',
          params: { days_ahead: 14 },
          depends_on: ['calculate_procurement'],
        },
        // yesterday's forecasts against real sales; independent of today's plan, so it
        // runs beside production/procurement/inventory rather than after them
        {
          name: 'validate_forecasts',
          operation: 'forecasting.validate',
          depends_on: ['generate_forecasts'],
          continue_on_error: true,
        },
        {
          name: 'send_summary',
          operation: 'notification.daily_summary',
          depends_on: ['project_inventory', 'validate_forecasts'],
        },
      ],
    },
    {
      ...common,
      workflowName: 'weekly_retraining',
      workflowType: 'weekly',
      description:
        'Sunday night: evaluate 30-day forecast accuracy and retrain products with MAPE > 30 %, ' +
        'MAPE up more than 5 points in 30 days, or a model older than 30 days.',
      cronExpression: '0 22 * * 0',
      steps: [
        {
          name: 'evaluate_accuracy',
          operation: 'forecasting.evaluate_and_retrain',
          params: {
            auto_trigger: false,
            lookback_days: 30,
            mape_threshold: 30,
            mape_increase_threshold: 5,
            max_model_age_days: 30,
          },
        },
        {
          name: 'retrain_models',
          operation: 'training.retrain',
          depends_on: ['evaluate_accuracy'],
        },
      ],
    },
    {
      ...common,
      workflowName: 'weekly_digest',
      workflowType: 'weekly',
      description: 'Weekly digest of forecasts, production and accuracy to each bakery owner.',
      cronExpression: env.WEEKLY_WORKFLOW_CRON,
      steps: [{ name: 'send_weekly_digest', operation: 'notification.weekly_digest' }],
    },
    {
      ...common,
      workflowName: 'alert_cleanup',
      workflowType: 'daily',
      description: 'Archive resolved alerts older than 30 days.',
      cronExpression: '0 3 * * *',
      steps: [
        {
          name: 'archive_resolved_alerts',
          operation: 'alert_processor.archive_resolved',
          params: { older_than_days: 30 },
        },
      ],
    },
  ];
}
