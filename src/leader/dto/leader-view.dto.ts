import { ApiProperty } from '@nestjs/swagger';

/** GET /leader: the leader of record (orchestrator_leader) and this instance's own role. */
export class LeaderViewDto {
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'orchestrator-7d9f_1a2b3c4d',
    description: 'Instance that took the newest term; null before any instance ever led',
  })
  leader_instance_id: string | null;

  @ApiProperty({ nullable: true, type: String, example: 'orchestrator-7d9f' })
  hostname: string | null;

  @ApiProperty({
    nullable: true,
    type: Number,
    example: 42,
    description:
      'Fencing term: incremented on every acquisition; writes carrying an older one are refused',
  })
  term: number | null;

  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'became_leader_at',
  })
  since: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  last_heartbeat_at: string | null;

  @ApiProperty({ example: 'orchestrator-5c1e_9f8e7d6c', description: 'The instance answering' })
  instance_id: string;

  @ApiProperty({ enum: ['leader', 'follower'], description: "The answering instance's role" })
  role: 'leader' | 'follower';

  @ApiProperty({
    enum: ['election', 'single-instance'],
    description:
      'single-instance: ENABLE_LEADER_ELECTION=false or REDIS_URL unset; this instance leads alone',
  })
  mode: 'election' | 'single-instance';

  @ApiProperty({
    example: 'another instance holds the lock',
    description:
      "Why the answering instance has its role (e.g. 'redis unreachable: connect ECONNREFUSED')",
  })
  reason: string;
}
