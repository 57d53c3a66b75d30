import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { WorkflowEntity } from './workflow.entity';

/** The workflow as the API shows it: the specification's snake_case column names. */
export class WorkflowView {
  @ApiProperty() id: string;
  @ApiProperty({ example: 'daily_operations' }) workflow_name: string;
  @ApiProperty({ example: 'daily' }) workflow_type: string;
  @ApiPropertyOptional() description: string | null;
  @ApiPropertyOptional({ example: '0 8 * * *' }) cron_expression: string | null;
  @ApiProperty({ example: 'Europe/Madrid' }) timezone: string;
  @ApiProperty() is_enabled: boolean;
  @ApiProperty() max_execution_time_seconds: number;
  @ApiProperty() max_retries: number;
  @ApiProperty() retry_delay_seconds: number;
  @ApiProperty({
    example: [
      { name: 'generate_forecasts', operation: 'forecasting.generate', params: { days_ahead: 7 } },
    ],
  })
  steps: unknown[];
  @ApiPropertyOptional() last_execution_at: Date | null;
  @ApiPropertyOptional() last_success_at: Date | null;
  @ApiPropertyOptional() last_failure_at: Date | null;
  @ApiPropertyOptional() next_execution_at: Date | null;
  @ApiProperty() consecutive_failures: number;
  @ApiProperty() per_tenant_timezone: boolean;
  @ApiProperty({ example: { country: 'ES', region: 'MD' } }) calendar: {
    country: string;
    region?: string | null;
  };
  @ApiProperty({ example: 'run' }) holiday_policy: string;
  @ApiProperty({ example: 'run' }) weekend_policy: string;
  @ApiPropertyOptional() catch_up_window_seconds: number | null;
  @ApiProperty({ example: 'skip' }) overlap_policy: string;
  @ApiProperty() version: number;
  @ApiProperty() created_at: Date;
  @ApiProperty() updated_at: Date;
}

export function toWorkflowView(w: WorkflowEntity): WorkflowView {
  return {
    id: w.id,
    workflow_name: w.workflowName,
    workflow_type: w.workflowType,
    description: w.description,
    cron_expression: w.cronExpression,
    timezone: w.timezone,
    is_enabled: w.isEnabled,
    max_execution_time_seconds: w.maxExecutionTimeSeconds,
    max_retries: w.maxRetries,
    retry_delay_seconds: w.retryDelaySeconds,
    steps: w.steps,
    last_execution_at: w.lastExecutionAt,
    last_success_at: w.lastSuccessAt,
    last_failure_at: w.lastFailureAt,
    next_execution_at: w.nextExecutionAt,
    consecutive_failures: w.consecutiveFailures,
    per_tenant_timezone: w.perTenantTimezone,
    calendar: w.calendar,
    holiday_policy: w.holidayPolicy,
    weekend_policy: w.weekendPolicy,
    catch_up_window_seconds: w.catchUpWindowSeconds,
    overlap_policy: w.overlapPolicy,
    version: w.version,
    created_at: w.createdAt,
    updated_at: w.updatedAt,
  };
}
