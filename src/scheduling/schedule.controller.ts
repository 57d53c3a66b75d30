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
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { noteAuditChange } from 'src/auth/audit/audit-change';
import { Roles } from 'src/auth/auth.decorators';
import { BackfillDto, NextRunQuery, UpdateScheduleDto } from './dto/schedule.dto';
import { BackfillView, NextRunView, ScheduleEntryView } from './dto/schedule.view';
import { ScheduleService } from './schedule.service';

@ApiTags('schedule')
@Controller()
export class ScheduleController {
  constructor(private readonly schedule: ScheduleService) {}

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
      'One run per past slot in [from, to] (holiday/weekend policies applied), oldest first, for tenant_ids or the slot’s usual tenants. Idempotent: a slot that already has a run is reported as duplicate.',
  })
  @ApiParam({
    name: 'workflow_id',
    description: 'the workflow id or its name',
    example: 'daily_operations',
  })
  @ApiCreatedResponse({ type: BackfillView })
  @ApiBadRequestResponse({ description: 'invalid range or tenant ids, each named in details[]' })
  @ApiNotFoundResponse({ description: 'no such workflow' })
  backfill(@Param('workflow_id') id: string, @Body() dto: BackfillDto): Promise<BackfillView> {
    return this.schedule.backfill(id, dto);
  }
}
