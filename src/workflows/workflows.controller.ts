import { Body, Controller, Get, HttpCode, Param, Post, Put, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { noteAuditChange } from 'src/auth/audit/audit-change';
import { UpdateWorkflowDto } from './dto/workflow.dto';
import { WorkflowView } from './workflow.view';
import { WorkflowsService } from './workflows.service';

const ID_PARAM = {
  name: 'workflow_id',
  description: 'the workflow id or its name',
  example: 'daily_operations',
};

@ApiTags('workflows')
@Controller('workflows')
export class WorkflowsController {
  constructor(private readonly workflows: WorkflowsService) {}

  @Get()
  @ApiOperation({ summary: 'List workflows' })
  @ApiOkResponse({ type: [WorkflowView] })
  list(): Promise<WorkflowView[]> {
    return this.workflows.list();
  }

  @Get(':workflow_id')
  @ApiOperation({ summary: 'Get a workflow by id or name' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: WorkflowView })
  @ApiNotFoundResponse({ description: 'no such workflow' })
  get(@Param('workflow_id') id: string): Promise<WorkflowView> {
    return this.workflows.view(id);
  }

  @Put(':workflow_id')
  @ApiOperation({
    summary: 'Update a workflow',
    description:
      'Partial update. Steps, cron, timezone and policies are validated whole; any problem answers 400 naming the field and nothing is stored.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: WorkflowView })
  @ApiBadRequestResponse({ description: 'invalid field(s), each named in details[]' })
  async update(
    @Param('workflow_id') id: string,
    @Body() dto: UpdateWorkflowDto,
    @Req() req: object,
  ): Promise<WorkflowView> {
    return afterAudited(req, await this.workflows.update(id, dto));
  }

  @Post(':workflow_id/enable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Enable a workflow (its schedule resumes from the next slot)' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: WorkflowView })
  async enable(@Param('workflow_id') id: string, @Req() req: object): Promise<WorkflowView> {
    return afterAudited(req, await this.workflows.setEnabled(id, true));
  }

  @Post(':workflow_id/disable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Disable a workflow (no new slots; running executions finish)' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: WorkflowView })
  async disable(@Param('workflow_id') id: string, @Req() req: object): Promise<WorkflowView> {
    return afterAudited(req, await this.workflows.setEnabled(id, false));
  }
}

/** The audit row of this request gets both states; the caller gets the new one. */
function afterAudited(req: object, change: { before: WorkflowView; after: WorkflowView }) {
  noteAuditChange(req, change);
  return change.after;
}
