import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { LeaderViewDto } from './dto/leader-view.dto';
import { LeaderElectionService } from './leader-election.service';
import { LeaderErrorCode } from './leader.errors';

@ApiTags('leader')
@Controller('leader')
export class LeaderController {
  constructor(private readonly election: LeaderElectionService) {}

  @Get()
  @ApiOperation({
    summary: 'Current leader instance',
    description:
      "The leader of record (newest fencing term) and the answering instance's own role. " +
      'Every instance answers; only the one whose role is "leader" schedules.',
  })
  @ApiOkResponse({ type: LeaderViewDto })
  @ApiServiceUnavailableResponse({
    description: 'The leader record cannot be read (database down)',
  })
  async current(): Promise<LeaderViewDto> {
    const status = this.election.status();
    let record;
    try {
      record = await this.election.findLeaderRecord();
    } catch (err) {
      throw new ServiceUnavailableException({
        statusCode: 503,
        error: LeaderErrorCode.StateUnavailable,
        message: `leader record unavailable: ${(err as Error).message}`,
        instance_id: status.instanceId,
        role: status.role,
      });
    }
    return {
      leader_instance_id: record?.instanceId ?? null,
      hostname: record?.hostname ?? null,
      // terms stay far below 2^53; a JSON number is what clients compare
      term: record ? Number(record.term) : null,
      since: record?.becameLeaderAt.toISOString() ?? null,
      last_heartbeat_at: record?.lastHeartbeatAt.toISOString() ?? null,
      instance_id: status.instanceId,
      role: status.role,
      mode: status.mode,
      reason: status.reason,
    };
  }
}
