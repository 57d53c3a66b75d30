import { PeriodicJobsModule } from 'src/common/jobs/periodic-jobs.module';
import { Module } from '@nestjs/common';
import { register } from 'prom-client';
import { ExecutionsModule } from 'src/executions/executions.module';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { AlertNotifier, NotificationAlertNotifier } from './alerts/alert-notifier';
import { AlertsJob } from './alerts/alerts.job';
import { AlertsRepository } from './alerts/alerts.repository';
import { AlertsService } from './alerts/alerts.service';
import { CostMeter, CpuMeter, ProcessCpuMeter } from './cost-meter';
import { MetricsController } from './metrics.controller';
import { MetricsRepository } from './metrics.repository';
import { MetricsService } from './metrics.service';
import { MetricsRollupJob } from './rollup.job';
import { MetricsRollupService } from './rollup.service';
import { StatisticsService } from './statistics.service';
import { WorkflowMetrics } from './workflow-metrics';

/**
 * Metrics and statistics: Prometheus series (the specification's names plus step
 * durations, executions in flight, skipped slots, cost, open alerts), the daily rollup
 * into orchestrator_metrics, GET /metrics (JSON) and GET /statistics, cost tracking, and
 * the alerts on the orchestrator itself (failures, slow runs, missed slots, deadlines,
 * dead man's switch). Needs the global ClientsModule (notification client), EventsModule
 * (outbox) and LeaderModule (the periodic jobs run on the leader).
 * The Prometheus exposition itself is PrometheusModule's, at the root /metrics.
 */
@Module({
  imports: [PeriodicJobsModule, WorkflowsModule, ExecutionsModule],
  controllers: [MetricsController],
  providers: [
    MetricsRepository,
    // the default registry: the one /metrics serves
    { provide: WorkflowMetrics, useFactory: () => new WorkflowMetrics(register) },
    { provide: CpuMeter, useClass: ProcessCpuMeter },
    CostMeter,
    MetricsRollupService,
    MetricsRollupJob,
    StatisticsService,
    MetricsService,
    AlertsRepository,
    { provide: AlertNotifier, useClass: NotificationAlertNotifier },
    AlertsService,
    AlertsJob,
  ],
  exports: [
    MetricsService,
    MetricsRollupService,
    StatisticsService,
    AlertsService,
    WorkflowMetrics,
  ],
})
export class MetricsModule {}
