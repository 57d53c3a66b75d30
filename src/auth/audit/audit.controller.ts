import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth.decorators';
import { AuditQuery } from './dto/audit-query.dto';
import { AuditService } from './audit.service';

@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Roles('admin')
  @ApiOperation({
    summary: 'The audit trail: every mutation, who made it and what changed',
    description:
      'Newest first; filter by subject, route (substring of the route pattern), target, method and time; cursor pagination.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        items: [
          {
            id: 'uuid',
            at: '2026-03-01T07:00:00.000Z',
            subject: 'auth0|alice',
            roles: ['admin'],
            method: 'PUT',
            route: '/api/v1/orchestrator/workflows/:workflow_id',
            path: '/api/v1/orchestrator/workflows/daily_operations',
            target: 'daily_operations',
            status_code: 200,
            request: { max_retries: 5 },
            before: { max_retries: 3 },
            after: { max_retries: 5 },
            request_id: 'trace-123',
          },
        ],
        next_cursor: null,
      },
    },
  })
  list(@Query() query: AuditQuery) {
    return this.audit.list(query);
  }
}
