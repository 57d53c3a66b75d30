/** Response examples for Swagger (shapes produced by execution.view.ts). */
const RUN_ID = '3f6c1c2e-8a1b-4a55-9a53-2f7f3c8c1d10';
const TENANT_EXECUTION_ID = '9b2d7a4e-51c4-4e0f-b1a6-0c5d2e8f7a31';
const TENANT_ID = '6f1c2d3e-4b5a-4c6d-8e7f-90a1b2c3d4e5';

const execution = {
  id: RUN_ID,
  workflow_id: 'c0a80164-0000-4000-8000-000000000001',
  workflow_name: 'daily_operations',
  execution_type: 'scheduled',
  triggered_by: null,
  tenant_id: null,
  status: 'completed',
  started_at: '2026-11-30T07:00:00.012Z',
  completed_at: '2026-11-30T07:02:11.480Z',
  duration_seconds: 131,
  steps_completed: 750,
  steps_total: 750,
  steps_failed: 0,
  error_message: null,
  result_summary: {
    tenants_total: 130,
    tenants_selected: 125,
    tenants_skipped: { suspended: 3, cancelled: 2 },
    tenants_processed: 125,
    tenants_succeeded: 125,
    tenants_failed: 0,
    tenants_cancelled: 0,
    steps_completed: 750,
    steps_failed: 0,
    retries: 0,
    duration_seconds: 131,
  },
  executed_by_instance: null,
  created_at: '2026-11-30T07:00:00.012Z',
  parent_execution_id: null,
  scheduled_for: '2026-11-30T07:00:00.000Z',
  retry_of_execution_id: null,
  attempt: 1,
  next_attempt_at: null,
  deadline_at: '2026-11-30T08:00:00.012Z',
};

const step = (name: string, index: number) => ({
  name,
  index,
  status: 'completed',
  attempts: 1,
  started_at: '2026-11-30T07:00:01.100Z',
  completed_at: '2026-11-30T07:00:01.350Z',
  error_message: null,
});

export const EXECUTION_LIST_EXAMPLE = {
  items: [execution],
  next_cursor: 'MjAyNi0xMS0zMFQwNzowMDowMC4wMTJafDNmNmMx',
};

export const EXECUTION_DETAIL_EXAMPLE = {
  ...execution,
  retried_by: [
    {
      execution_id: '8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
      execution_type: 'retry',
      status: 'completed',
      created_at: '2026-11-30T07:40:12.004Z',
    },
  ],
  retry_in_progress: null,
  recovered_by: '8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
  progress: { tenants_total: 125, by_status: { completed: 125 } },
  children: [
    {
      ...execution,
      id: TENANT_EXECUTION_ID,
      tenant_id: TENANT_ID,
      parent_execution_id: RUN_ID,
      executed_by_instance: 'orchestrator-7d9f-2a41c0de',
      steps_completed: 6,
      steps_total: 6,
      result_summary: { steps: { generate_forecasts: 'completed', send_summary: 'completed' } },
      steps: [step('generate_forecasts', 0), step('calculate_production', 1)],
    },
  ],
  children_truncated: false,
};

export const EXECUTION_LOGS_EXAMPLE = {
  items: [
    {
      id: '5e0b6c7d-2f3a-4b1c-9d8e-7f6a5b4c3d2e',
      execution_id: TENANT_EXECUTION_ID,
      step_name: 'generate_forecasts',
      step_index: 0,
      log_level: 'info',
      log_message: 'generate_forecasts completed',
      log_data: { operation: 'forecasting.generate', duration_ms: 248, attempt: 1 },
      logged_at: '2026-11-30T07:00:01.352Z',
    },
  ],
  next_cursor: null,
};
