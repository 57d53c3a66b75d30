import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** One upcoming run of GET /schedule/next-run (skipped slots are left out). */
export class NextRunSlotView {
  @ApiProperty({ example: '2026-01-07T07:00:00.000Z', description: 'UTC' }) at: string;
  @ApiProperty({ example: '2026-01-07T08:00:00+01:00', description: 'local time with offset' })
  local: string;
  @ApiPropertyOptional({
    example: '2026-01-06T07:00:00.000Z',
    description:
      'the slot this one was moved from: a holiday/weekend slot (UTC), or for a DST gap the local time that does not exist (no offset)',
  })
  adjusted_from?: string;
  @ApiPropertyOptional({
    example: 'Epiphany, national holiday: shifted from 2026-01-06T08:00:00+01:00',
  })
  reason?: string;
  @ApiPropertyOptional({
    example: ['Europe/Madrid'],
    description: 'per-tenant-timezone workflows: the tenant zones this slot runs',
  })
  timezones?: string[];
}

export class NextRunView {
  @ApiProperty({ example: 'daily_operations' }) workflow: string;
  @ApiProperty() workflow_id: string;
  @ApiProperty({ example: 'Europe/Madrid' }) timezone: string;
  @ApiProperty({ type: [NextRunSlotView] }) slots: NextRunSlotView[];
}

export class LastRunView {
  @ApiProperty() execution_id: string;
  @ApiProperty() scheduled_for: Date;
  @ApiProperty({ example: 'completed' }) status: string;
  @ApiProperty({ example: 'scheduled' }) execution_type: string;
  @ApiPropertyOptional() started_at: Date | null;
  @ApiPropertyOptional() completed_at: Date | null;
}

export class ScheduleEntryView {
  @ApiProperty() workflow_id: string;
  @ApiProperty({ example: 'daily_operations' }) workflow_name: string;
  @ApiProperty() is_enabled: boolean;
  @ApiPropertyOptional({ example: '0 8 * * *' }) cron_expression: string | null;
  @ApiProperty({ example: 'Europe/Madrid' }) timezone: string;
  @ApiProperty() per_tenant_timezone: boolean;
  @ApiProperty({ example: { country: 'ES', region: 'MD' } })
  calendar: { country: string; region?: string | null };
  @ApiProperty({ example: 'run' }) holiday_policy: string;
  @ApiProperty({ example: 'run' }) weekend_policy: string;
  @ApiPropertyOptional({ description: 'as configured; null = the default' })
  catch_up_window_seconds: number | null;
  @ApiPropertyOptional({
    example: 21600,
    description: 'the window in force (default: half the period, at most 6 h)',
  })
  effective_catch_up_window_seconds: number | null;
  @ApiProperty({ example: 'skip' }) overlap_policy: string;
  @ApiPropertyOptional({
    description: "the scheduler's cursor: the next slot it will act on (run or record)",
  })
  next_execution_at: Date | null;
  @ApiPropertyOptional({ type: NextRunSlotView, description: 'the next slot that will run' })
  next_run: NextRunSlotView | null;
  @ApiPropertyOptional({ type: LastRunView }) last_run: LastRunView | null;
  @ApiPropertyOptional({ example: 'completed' }) last_status: string | null;
  @ApiPropertyOptional() last_success_at: Date | null;
  @ApiPropertyOptional() last_failure_at: Date | null;
}

export class BackfillSlotView {
  @ApiProperty() scheduled_for: string;
  @ApiProperty({ example: '2026-01-05T08:00:00+01:00' }) local: string;
  @ApiProperty({
    enum: ['started', 'duplicate', 'no_tenants'],
    description:
      'started: a run for the tenants with no completed execution at the slot (a skipped or missed slot included); duplicate: a run of the slot is open, or every tenant already completed there; no_tenants: none of tenant_ids is due in that slot',
  })
  outcome: 'started' | 'duplicate' | 'no_tenants';
  @ApiPropertyOptional() execution_id?: string;
}

export class BackfillView {
  @ApiProperty({ example: 'daily_operations' }) workflow: string;
  @ApiProperty() workflow_id: string;
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty() started: number;
  @ApiProperty() duplicates: number;
  @ApiProperty({ type: [BackfillSlotView], description: 'oldest first' }) slots: BackfillSlotView[];
}
