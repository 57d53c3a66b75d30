import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  IsCronExpression,
  IsHolidayCountry,
  IsHolidayRegion,
  IsIanaTimezone,
} from '../schedule-validators';

export const DAY_POLICIES = ['run', 'skip', 'shift'] as const;
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'allow'] as const;
export const MAX_NEXT_RUN_COUNT = 400;

export class ScheduleCalendarDto {
  @ApiProperty({ example: 'ES', description: 'ISO 3166-1 alpha-2 country with a holiday calendar' })
  @IsString()
  @IsHolidayCountry()
  country: string;

  @ApiPropertyOptional({
    example: 'MD',
    nullable: true,
    description: 'region (for ES: MD, CT, AN, ...); null for the national calendar only',
  })
  @IsOptional()
  @IsString()
  @IsHolidayRegion()
  region?: string | null;
}

/** One workflow's schedule changes; only the fields given change. */
export class ScheduleUpdateDto {
  @ApiProperty({ example: 'daily_operations', description: 'workflow id or name' })
  @IsString()
  @MaxLength(255)
  workflow: string;

  @ApiPropertyOptional({ example: '0 8 * * *', description: 'five-field cron expression' })
  @IsOptional()
  @IsString()
  @IsCronExpression()
  cron_expression?: string;

  @ApiPropertyOptional({ example: 'Europe/Madrid' })
  @IsOptional()
  @IsString()
  @IsIanaTimezone()
  timezone?: string;

  @ApiPropertyOptional({
    example: false,
    description: "fire at the cron's local time in each tenant's own timezone",
  })
  @IsOptional()
  @IsBoolean()
  per_tenant_timezone?: boolean;

  @ApiPropertyOptional({ type: ScheduleCalendarDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ScheduleCalendarDto)
  calendar?: ScheduleCalendarDto;

  @ApiPropertyOptional({ enum: DAY_POLICIES, description: 'on a public holiday' })
  @IsOptional()
  @IsIn(DAY_POLICIES)
  holiday_policy?: (typeof DAY_POLICIES)[number];

  @ApiPropertyOptional({ enum: DAY_POLICIES, description: 'on Saturday and Sunday' })
  @IsOptional()
  @IsIn(DAY_POLICIES)
  weekend_policy?: (typeof DAY_POLICIES)[number];

  @ApiPropertyOptional({
    example: 21600,
    nullable: true,
    description: 'how late a missed slot may still run; null = half the period, at most 6 h',
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsInt()
  @Min(0)
  @Max(31 * 86400)
  catch_up_window_seconds?: number | null;

  @ApiPropertyOptional({ enum: OVERLAP_POLICIES })
  @IsOptional()
  @IsIn(OVERLAP_POLICIES)
  overlap_policy?: (typeof OVERLAP_POLICIES)[number];
}

export class UpdateScheduleDto {
  @ApiProperty({ type: [ScheduleUpdateDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => ScheduleUpdateDto)
  workflows: ScheduleUpdateDto[];
}

export class NextRunQuery {
  @ApiPropertyOptional({ description: 'workflow id or name (default: every scheduled workflow)' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  workflow?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_NEXT_RUN_COUNT, default: 5 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_NEXT_RUN_COUNT)
  count?: number;
}

export class BackfillDto {
  @ApiProperty({
    example: '2026-01-01T00:00:00Z',
    description: 'first slot time considered (inclusive)',
  })
  @IsISO8601({ strict: true })
  from: string;

  @ApiProperty({
    example: '2026-01-07T23:59:59Z',
    description: 'last slot time considered (inclusive), not in the future',
  })
  @IsISO8601({ strict: true })
  to: string;

  @ApiPropertyOptional({ description: 'only these tenants (default: the slot’s usual tenants)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10000)
  @IsUUID('all', { each: true })
  tenant_ids?: string[];
}
