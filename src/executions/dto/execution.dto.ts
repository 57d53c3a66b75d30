import { ApiPropertyOptional } from '@nestjs/swagger';
import { TimeRangePageQuery } from 'src/common/validation/time-range-page.query';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

export class ExecuteWorkflowDto {
  @ApiPropertyOptional({
    description: 'run only for these tenants (default: every active tenant)',
    example: [],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10000)
  @IsUUID('all', { each: true })
  tenant_ids?: string[];

  @ApiPropertyOptional({
    description: 'return the plan (tenants in order, steps by level) without running anything',
  })
  @IsOptional()
  @IsBoolean()
  dry_run?: boolean;

  @ApiPropertyOptional({ description: 'start even if a run of this workflow is in progress' })
  @IsOptional()
  @IsBoolean()
  allow_concurrent?: boolean;
}

export const EXECUTION_STATUSES = [
  'pending',
  'running',
  'completed',
  'failed',
  'cancelled',
  'skipped',
] as const;

export class ListExecutionsQuery extends TimeRangePageQuery {
  @ApiPropertyOptional({ description: 'workflow id or name' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  workflow?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  tenant_id?: string;

  @ApiPropertyOptional({ enum: EXECUTION_STATUSES })
  @IsOptional()
  @IsIn(EXECUTION_STATUSES)
  status?: (typeof EXECUTION_STATUSES)[number];

  @ApiPropertyOptional({ description: 'only runs (parent executions), not tenant executions' })
  @IsOptional()
  @IsIn(['true', 'false'])
  runs_only?: 'true' | 'false';
}

export class PageQuery {
  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  cursor?: string;

  @ApiPropertyOptional({ default: 200, minimum: 1, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
