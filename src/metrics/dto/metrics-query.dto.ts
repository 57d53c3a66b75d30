import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export class MetricsQuery {
  @ApiPropertyOptional({
    description: 'first local date (DEFAULT_TIMEZONE), default 30 days before to',
    example: '2026-03-01',
  })
  @IsOptional()
  @Matches(DATE, { message: 'from must be a date such as 2026-03-01' })
  from?: string;

  @ApiPropertyOptional({ description: 'last local date, default today', example: '2026-03-31' })
  @IsOptional()
  @Matches(DATE, { message: 'to must be a date such as 2026-03-31' })
  to?: string;

  @ApiPropertyOptional({
    description: 'only this workflow (name or id)',
    example: 'daily_operations',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  workflow?: string;
}
