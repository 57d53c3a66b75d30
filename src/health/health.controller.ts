import { Controller, Get, OnModuleDestroy } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { Public } from 'src/auth/auth.decorators';
import { RedisConnection } from 'src/common/redis/redis.module';
import { TimeoutError, withTimeout } from 'src/common/time/deadline';
import { DatabaseProbe } from 'src/database/database.probe';
import { AmqpConnection } from 'src/events/amqp-connection';
import { LeaderElectionService } from 'src/leader/leader-election.service';

/**
 * Each dependency check has its own deadline below 2 s and they run side by side, so
 * readiness answers within 2 s whatever hangs (a partitioned Redis, a locked database).
 */
const CHECK_TIMEOUT_MS = 1800;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController implements OnModuleDestroy {
  private readonly startedAt = Date.now();
  private shuttingDown = false;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: DatabaseProbe,
    private readonly redis: RedisConnection,
    private readonly amqp: AmqpConnection,
    private readonly leader: LeaderElectionService,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Overall health with the state of each dependency (503 if one is down)',
  })
  overall() {
    return this.health.check(this.dependencyChecks());
  }

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process answers. Never touches a dependency.' })
  live() {
    return this.health.check([
      () =>
        this.indicators
          .check('process')
          .up({ uptime_seconds: Math.round((Date.now() - this.startedAt) / 1000) }),
    ]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: database reachable and migrated; Redis and RabbitMQ when configured',
  })
  ready() {
    return this.health.check([
      () => this.shutdownCheck(),
      ...this.dependencyChecks(),
      () => this.leaderCheck(),
    ]);
  }

  /**
   * The first shutdown hook Nest runs: from here until the listener closes, a load balancer
   * polling readiness takes this instance out of rotation.
   */
  onModuleDestroy(): void {
    this.shuttingDown = true;
  }

  private shutdownCheck() {
    const session = this.indicators.check('lifecycle');
    return this.shuttingDown
      ? session.down({ state: 'shutting down' })
      : session.up({ state: 'serving' });
  }

  /**
   * Informational: a follower is as ready as the leader (any instance runs tenant work),
   * so this entry never fails readiness by itself; it says who schedules and, when
   * nobody can, why (Redis down also fails the redis entry).
   */
  private leaderCheck() {
    const { role, mode, reason, term, instanceId } = this.leader.status();
    return this.indicators
      .check('leader')
      .up({ role, mode, reason, term, instance_id: instanceId });
  }

  private dependencyChecks() {
    return [
      this.bounded('database', async () => {
        const state = await this.database.check();
        const session = this.indicators.check('database');
        return state.ok
          ? session.up({ kind: state.kind })
          : session.down({ kind: state.kind, reason: state.reason });
      }),
      this.bounded('redis', async () => {
        const session = this.indicators.check('redis');
        if (!this.redis.client) return session.up({ configured: false });
        const state = await this.redis.ping();
        return state.ok
          ? session.up({ configured: true })
          : session.down({ configured: true, reason: state.reason });
      }),
      () => {
        const session = this.indicators.check('rabbitmq');
        if (!this.amqp.manager) return session.up({ configured: false });
        const state = this.amqp.state();
        return state.ok
          ? session.up({ configured: true })
          : session.down({ configured: true, reason: state.reason });
      },
    ];
  }

  /** A check that has not answered by the deadline is down, with the reason. */
  private bounded(name: string, check: () => Promise<HealthIndicatorResult>) {
    return () =>
      withTimeout(check(), CHECK_TIMEOUT_MS, `${name} check`).catch((err: Error) =>
        this.indicators.check(name).down({
          reason: err instanceof TimeoutError ? err.message : `${name} check: ${err.message}`,
        }),
      );
  }
}
