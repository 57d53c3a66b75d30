import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export class StepDto {
  @ApiProperty({ example: 'generate_forecasts' })
  @IsString()
  @Matches(/^[a-z][a-z0-9_]{0,99}$/, { message: 'name must match ^[a-z][a-z0-9_]*$' })
  name: string;

  @ApiProperty({
    example: 'forecasting.generate',
    description: 'an operation of the client registry, never a URL',
  })
  @IsString()
  operation: string;

  @ApiPropertyOptional({ example: { days_ahead: 7 } })
  @IsOptional()
  @IsObject()
  params?: Record<string, unknown>;

  @ApiPropertyOptional({ example: ['generate_forecasts'] })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @ArrayMaxSize(50)
  depends_on?: string[];

  @ApiPropertyOptional({ example: 300 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3600)
  timeout_seconds?: number;

  @ApiPropertyOptional({
    example: 3,
    description: 'HTTP retries after a retryable failure (attempts = retries + 1)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10)
  retries?: number;

  @ApiPropertyOptional({ example: false, description: 'dependents still run when this step fails' })
  @IsOptional()
  @IsBoolean()
  continue_on_error?: boolean;
}

export class CalendarDto {
  @ApiProperty({ example: 'ES' })
  @IsString()
  @Matches(/^[A-Z]{2}$/, { message: 'country must be an ISO 3166-1 alpha-2 code such as ES' })
  country: string;

  @ApiPropertyOptional({ example: 'MD', nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 10)
  region?: string | null;
}

const POLICIES = ['run', 'skip', 'shift'] as const;
const OVERLAP = ['skip', 'buffer_one', 'allow'] as const;

/** The scheduling fields, shared by PUT /workflows/{id} and PUT /schedule. */
export class ScheduleFieldsDto {
  @ApiPropertyOptional({ example: '0 8 * * *', nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  cron_expression?: string | null;

  @ApiPropertyOptional({ example: 'Europe/Madrid' })
  @IsOptional()
  @IsString()
  @MaxLength(50)
  timezone?: string;

  @ApiPropertyOptional({ example: false })
  @IsOptional()
  @IsBoolean()
  per_tenant_timezone?: boolean;

  @ApiPropertyOptional({ type: CalendarDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => CalendarDto)
  calendar?: CalendarDto;

  @ApiPropertyOptional({ enum: POLICIES })
  @IsOptional()
  @IsIn(POLICIES)
  holiday_policy?: (typeof POLICIES)[number];

  @ApiPropertyOptional({ enum: POLICIES })
  @IsOptional()
  @IsIn(POLICIES)
  weekend_policy?: (typeof POLICIES)[number];

  @ApiPropertyOptional({ example: 21600, nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(31 * 86400)
  catch_up_window_seconds?: number | null;

  @ApiPropertyOptional({ enum: OVERLAP })
  @IsOptional()
  @IsIn(OVERLAP)
  overlap_policy?: (typeof OVERLAP)[number];
}

export class UpdateWorkflowDto extends ScheduleFieldsDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiPropertyOptional({ example: 3600 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  max_execution_time_seconds?: number;

  @ApiPropertyOptional({ example: 3 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(20)
  max_retries?: number;

  @ApiPropertyOptional({ example: 300 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86400)
  retry_delay_seconds?: number;

  @ApiPropertyOptional({ type: [StepDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => StepDto)
  steps?: StepDto[];
}
