import { ApiPropertyOptional } from '@nestjs/swagger';
import { TimeRangePageQuery } from 'src/common/validation/time-range-page.query';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

export class AuditQuery extends TimeRangePageQuery {
  @ApiPropertyOptional({ description: 'token subject (sub) of the caller', example: 'auth0|alice' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  subject?: string;

  @ApiPropertyOptional({
    description: 'part of the route pattern',
    example: '/workflows/:workflow_id/enable',
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  route?: string;

  @ApiPropertyOptional({
    description: 'what was changed (a workflow id or name, an execution id)',
    example: 'daily_operations',
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  target?: string;

  @ApiPropertyOptional({ enum: ['POST', 'PUT', 'PATCH', 'DELETE'] })
  @IsOptional()
  @IsIn(['POST', 'PUT', 'PATCH', 'DELETE'])
  method?: string;
}
