import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MetricsQuery } from './dto/metrics-query.dto';
import { METRICS_JSON_PATH } from './metrics.routes';
import { MetricsService } from './metrics.service';
import { StatisticsService } from './statistics.service';

@ApiTags('metrics')
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly stats: StatisticsService,
  ) {}

  @Get(METRICS_JSON_PATH)
  @ApiOperation({
    summary:
      'Workflow metrics: the daily rollups (orchestrator_metrics) by date range and workflow',
    description:
      'One row per local date (DEFAULT_TIMEZONE) and workflow: runs, successes, failures, duration avg/min/max, success rate, average retries per tenant execution, tenants, skipped slots, deadline misses, downstream calls, CPU seconds and cost. Written by the daily job and `node dist/cli.js metrics:rollup`.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        from: '2026-03-01',
        to: '2026-03-02',
        timezone: 'Europe/Madrid',
        items: [
          {
            metric_date: '2026-03-01',
            workflow_name: 'daily_operations',
            total_executions: 1,
            successful_executions: 1,
            failed_executions: 0,
            avg_duration_seconds: 1820,
            min_duration_seconds: 1820,
            max_duration_seconds: 1820,
            success_rate_percentage: 100,
            avg_retry_count: 0.02,
            tenants: 125,
            cost_per_tenant_eur: 0.0121,
          },
        ],
      },
    },
  })
  rollups(@Query() query: MetricsQuery) {
    return this.metrics.rollupsBetween(query);
  }

  @Get('statistics')
  @ApiOperation({
    summary: 'Live execution statistics',
    description:
      "Success rate over 24 h / 7 d / 30 d, p50/p95 run duration, slowest workflows and tenants, consecutive failures, deadlines met, cost per tenant per day, forecast accuracy (validate_forecasts: latest MAPE per tenant, 30-day trend, tenants above 30 %), the dead man's switch and open alerts.",
  })
  statistics() {
    return this.stats.get();
  }
}
