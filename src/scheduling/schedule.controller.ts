import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { noteAuditChange } from 'src/auth/audit/audit-change';
import { CurrentPrincipal, Roles } from 'src/auth/auth.decorators';
import type { Principal } from 'src/auth/principal';
import { IDEMPOTENCY_HEADER_DOC, IdempotencyKey } from 'src/common/idempotency/idempotency-key';
import {
  IdempotencyService,
  ResponseLike,
  sendAnswer,
} from 'src/common/idempotency/idempotency.service';
import { BackfillDto, NextRunQuery, UpdateScheduleDto } from './dto/schedule.dto';
import { BackfillView, NextRunView, ScheduleEntryView } from './dto/schedule.view';
import { ScheduleService } from './schedule.service';

@ApiTags('schedule')
@Controller()
export class ScheduleController {
  constructor(
    private readonly schedule: ScheduleService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Get('schedule')
  @ApiOperation({
    summary: 'Every workflow: cron, timezone, policies, next run, last run and its status',
  })
  @ApiOkResponse({ type: [ScheduleEntryView] })
  list(): Promise<ScheduleEntryView[]> {
    return this.schedule.schedule();
  }

  @Put('schedule')
  @Roles('admin')
  @ApiOperation({
    summary: "Update one or several workflows' schedules",
    description:
      'cron_expression, timezone, per_tenant_timezone, calendar, holiday_policy, weekend_policy, catch_up_window_seconds, overlap_policy. Everything is validated first; any problem answers 400 naming the field and nothing is stored. Takes effect on every instance within seconds.',
  })
  @ApiOkResponse({ type: [ScheduleEntryView], description: 'the updated workflows' })
  @ApiBadRequestResponse({ description: 'invalid field(s), each named in details[]' })
  async update(@Body() dto: UpdateScheduleDto, @Req() req: object): Promise<ScheduleEntryView[]> {
    const { entries, change } = await this.schedule.update(dto);
    // the audit row of this request gets every workflow's definition before and after
    noteAuditChange(req, change);
    return entries;
  }

  @Get('schedule/next-run')
  @ApiOperation({
    summary: 'The next runs of each scheduled workflow',
    description:
      'The next `count` (1-400, default 5) slots that will run, with every holiday, weekend and DST adjustment and why; skipped slots are left out.',
  })
  @ApiOkResponse({ type: [NextRunView] })
  @ApiNotFoundResponse({ description: 'no such workflow' })
  nextRun(@Query() query: NextRunQuery): Promise<NextRunView[]> {
    return this.schedule.nextRuns(query);
  }

  @Post('workflows/:workflow_id/backfill')
  @HttpCode(HttpStatus.CREATED)
  @Roles('operator')
  @ApiOperation({
    summary: 'Create the runs of past slots',
    description:
      'One run per past slot in [from, to] (holiday/weekend policies applied), oldest first, for tenant_ids or the slot’s usual tenants. A slot that was skipped or missed runs; a slot that already ran runs again only for the tenants with no completed execution there (none: duplicate). Concurrent backfills of one slot run it once. With an Idempotency-Key, a repeat gets the first answer.',
  })
  @ApiParam({
    name: 'workflow_id',
    description: 'the workflow id or its name',
    example: 'daily_operations',
  })
  @ApiHeader(IDEMPOTENCY_HEADER_DOC)
  @ApiCreatedResponse({ type: BackfillView })
  @ApiBadRequestResponse({ description: 'invalid range or tenant ids, each named in details[]' })
  @ApiNotFoundResponse({ description: 'no such workflow' })
  @ApiConflictResponse({
    description: 'the first request with this Idempotency-Key is still being processed',
  })
  @ApiUnprocessableEntityResponse({ description: 'Idempotency-Key already used with another body' })
  async backfill(
    @Param('workflow_id') id: string,
    @Body() dto: BackfillDto,
    @CurrentPrincipal() caller: Principal | undefined,
    @IdempotencyKey() key: string | undefined,
    @Res({ passthrough: true }) res: ResponseLike,
  ): Promise<BackfillView> {
    const answer = await this.idempotency.run(
      {
        route: 'POST /workflows/{id}/backfill',
        target: id,
        // AuthGuard sets the caller on every operator route; the fallback keeps keys apart
        // should this controller be mounted without it
        subject: caller?.subject ?? 'anonymous',
        key,
        body: dto,
        status: HttpStatus.CREATED,
      },
      () => this.schedule.backfill(id, dto),
    );
    return sendAnswer(res, answer);
  }
}
