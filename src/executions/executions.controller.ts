import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiOkResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from 'src/auth/auth.decorators';
import type { Principal } from 'src/auth/principal';
import { IDEMPOTENCY_HEADER_DOC, IdempotencyKey } from 'src/common/idempotency/idempotency-key';
import {
  IdempotencyService,
  ResponseLike,
  sendAnswer,
} from 'src/common/idempotency/idempotency.service';
import { ExecuteWorkflowDto, ListExecutionsQuery, PageQuery } from './dto/execution.dto';
import {
  EXECUTION_DETAIL_EXAMPLE,
  EXECUTION_LIST_EXAMPLE,
  EXECUTION_LOGS_EXAMPLE,
} from './execution.examples';
import { ExecutionCommandsService } from './execution-commands.service';
import { ExecutionQueriesService } from './execution-queries.service';

/** A malformed id is the caller's mistake (400 naming it), not an unknown one (404). */
const uuid = (name: string) =>
  new ParseUUIDPipe({
    exceptionFactory: () =>
      new BadRequestException({
        statusCode: 400,
        error: 'REQUEST_INVALID',
        message: `${name} must be a UUID`,
        details: [{ field: name, message: 'must be a UUID' }],
      }),
  });

@ApiTags('executions')
@Controller('executions')
export class ExecutionsController {
  constructor(
    private readonly queries: ExecutionQueriesService,
    private readonly commands: ExecutionCommandsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Get()
  @ApiOkResponse({ schema: { example: EXECUTION_LIST_EXAMPLE } })
  @ApiOperation({
    summary: 'List executions',
    description:
      'Newest first; filter by workflow, tenant, status and creation date; cursor pagination.',
  })
  list(@Query() query: ListExecutionsQuery) {
    return this.queries.list(query);
  }

  @Get('failed')
  @ApiOkResponse({ schema: { example: EXECUTION_LIST_EXAMPLE } })
  @ApiOperation({
    summary: 'List what is still failed (runs and tenant executions), newest first',
    description:
      'A failed tenant execution drops out once an attempt at the same (workflow, slot, tenant) completed (a retry or a backfill); a failed run once each tenant it lost has.',
  })
  failed(@Query() query: PageQuery) {
    return this.queries.failed(query);
  }

  @Get(':execution_id')
  @ApiOkResponse({ schema: { example: EXECUTION_DETAIL_EXAMPLE } })
  @ApiOperation({
    summary: 'Get an execution',
    description:
      'For a run (parent): its progress and children (tenant executions, first 1000) with per-step states, its retries and backfills (retried_by), the one in progress (retry_in_progress) and the one that recovered it (recovered_by). For a tenant execution: its steps, its later attempts at the slot and the one that completed it.',
  })
  @ApiParam({ name: 'execution_id', format: 'uuid' })
  @ApiNotFoundResponse({ description: 'no such execution' })
  get(@Param('execution_id', uuid('execution_id')) id: string) {
    return this.queries.detail(id);
  }

  @Get(':execution_id/logs')
  @ApiOkResponse({ schema: { example: EXECUTION_LOGS_EXAMPLE } })
  @ApiOperation({
    summary: "An execution's step logs (a run's: all its tenants'), oldest first, paginated",
  })
  @ApiParam({ name: 'execution_id', format: 'uuid' })
  logs(@Param('execution_id', uuid('execution_id')) id: string, @Query() query: PageQuery) {
    return this.queries.logs(id, query);
  }

  @Post(':execution_id/retry')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Retry what is still failed',
    description:
      'A new run linked to the original (retry_of_execution_id) with only the tenants that have no completed attempt at the slot; each resumes at the steps its latest attempt did not complete, with the same slot (so the same downstream idempotency keys). One retry at a time per run.',
  })
  @ApiParam({ name: 'execution_id', format: 'uuid' })
  @ApiHeader(IDEMPOTENCY_HEADER_DOC)
  @ApiAcceptedResponse({
    schema: { example: { execution_id: 'uuid', retry_of_execution_id: 'uuid', tenants: 3 } },
  })
  @ApiConflictResponse({
    description: 'still running, a retry of it is in progress (named), or nothing left that failed',
  })
  @ApiUnprocessableEntityResponse({ description: 'Idempotency-Key already used with another body' })
  @Roles('operator')
  async retry(
    @Param('execution_id', uuid('execution_id')) id: string,
    @CurrentPrincipal() caller: Principal,
    @IdempotencyKey() key: string | undefined,
    @Res({ passthrough: true }) res: ResponseLike,
  ) {
    const answer = await this.idempotency.run(
      {
        route: 'POST /executions/{id}/retry',
        target: id,
        subject: caller.subject,
        key,
        body: {},
        status: HttpStatus.ACCEPTED,
      },
      () => this.commands.retry(id, caller.subjectId),
    );
    return sendAnswer(res, answer);
  }
}

@ApiTags('workflows')
@Controller('workflows')
export class WorkflowRunsController {
  constructor(
    private readonly commands: ExecutionCommandsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post(':workflow_id/execute')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Run a workflow now',
    description:
      'Starts a manual run for every active tenant (or tenant_ids), in a slot of its own. dry_run returns the plan without running anything. 409 if a run is in progress unless allow_concurrent (checked under a lock, so of concurrent requests one starts). With an Idempotency-Key, a repeat gets the first answer.',
  })
  @ApiParam({
    name: 'workflow_id',
    description: 'the workflow id or its name',
    example: 'daily_operations',
  })
  @ApiAcceptedResponse({ schema: { example: { execution_id: 'uuid', status: 'running' } } })
  @ApiBadRequestResponse({
    description: 'invalid body, or unknown/inactive tenant ids (each named)',
  })
  @ApiHeader(IDEMPOTENCY_HEADER_DOC)
  @ApiConflictResponse({
    description:
      'a run of this workflow is in progress (named; send allow_concurrent), or the first request with this Idempotency-Key is still being processed',
  })
  @ApiUnprocessableEntityResponse({ description: 'Idempotency-Key already used with another body' })
  @Roles('operator')
  async execute(
    @Param('workflow_id') id: string,
    @Body() dto: ExecuteWorkflowDto,
    @CurrentPrincipal() caller: Principal,
    @IdempotencyKey() key: string | undefined,
    @Res({ passthrough: true }) res: ResponseLike,
  ) {
    const answer = await this.idempotency.run(
      {
        route: 'POST /workflows/{id}/execute',
        target: id,
        subject: caller.subject,
        key,
        body: dto,
        status: HttpStatus.ACCEPTED,
      },
      // triggered_by is a UUID column: the token subject, or its UUID v5 (src/auth/README.md)
      () => this.commands.executeManually(id, dto, caller.subjectId),
    );
    return sendAnswer(res, answer);
  }
}
