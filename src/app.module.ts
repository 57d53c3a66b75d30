import { randomUUID } from 'node:crypto';
import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { LoggerModule } from 'nestjs-pino';
import { ClientsModule } from './clients/clients.module';
import { AuditModule } from './auth/audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { Clock, SystemClock } from './common/time/clock';
import { redactRequest } from './common/logging/redact';
import { RedisModule } from './common/redis/redis.module';
import { ConfigModule } from './config/config.module';
import { Env } from './config/env.schema';
import { InstanceIdentity } from './config/instance-identity';
import { DatabaseModule } from './database/database.module';
import { DeliveryTrackingModule } from './delivery-tracking/delivery-tracking.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { LeaderModule } from './leader/leader.module';
import { SchedulingModule } from './scheduling/scheduling.module';
import { MetricsModule } from './metrics/metrics.module';
import { PrometheusMetricsController } from './metrics/prometheus.controller';
import { ExecutionsModule } from './executions/executions.module';
import { WorkflowsModule } from './workflows/workflows.module';

const QUIET_PATHS = [
  '/api/v1/orchestrator/health/live',
  '/api/v1/orchestrator/health/ready',
  '/metrics',
];

@Module({})
export class AppModule {
  static forRoot(
    env: Env,
    options: { clock?: Clock; identity?: InstanceIdentity } = {},
  ): DynamicModule {
    const identity = options.identity ?? InstanceIdentity.create();
    return {
      module: AppModule,
      global: true,
      imports: [
        ConfigModule.forRoot(env, identity),
        LoggerModule.forRoot({
          pinoHttp: {
            level: env.LOG_LEVEL,
            // every line says which instance wrote it, with the id the leader record,
            // the executions and the alerts carry
            base: { pid: process.pid, hostname: identity.hostname, instanceId: identity.id },
            // the caller's id when it sends one, so a request can be followed across services
            genReqId: (req, res) => {
              const given = req.headers['x-request-id'];
              const id = typeof given === 'string' && given.length <= 128 ? given : randomUUID();
              res.setHeader('X-Request-Id', id);
              return id;
            },
            autoLogging: {
              ignore: (req) => QUIET_PATHS.includes((req.url ?? '').split('?')[0]),
            },
            // every line logged during a request carries it through this serializer
            serializers: { req: redactRequest },
          },
          // nestjs-pino 4's default route ('*') is the old path syntax Nest 11 warns about
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
        }),
        PrometheusModule.register({
          path: '/metrics',
          controller: PrometheusMetricsController,
          defaultMetrics: { enabled: true },
        }),
        AuthModule,
        AuditModule,
        DatabaseModule,
        ClientsModule,
        RedisModule,
        EventsModule,
        HealthModule,
        LeaderModule,
        SchedulingModule,
        DeliveryTrackingModule.register({ inProcessJob: true }),
        WorkflowsModule,
        ExecutionsModule,
        MetricsModule,
      ],
      providers: [{ provide: Clock, useValue: options.clock ?? new SystemClock() }],
      exports: [Clock],
    };
  }
}
