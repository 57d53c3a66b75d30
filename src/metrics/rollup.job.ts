import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { AppConfig } from 'src/config/app-config.service';
import { MetricsRollupService } from './rollup.service';

export const METRICS_ROLLUP_JOB = 'metrics_rollup';

/**
 * The daily rollup (METRICS_ROLLUP_CRON in DEFAULT_TIMEZONE, default 00:15): every
 * replica ticks, only the leader writes. Since the rollup is idempotent, a tick missed
 * during a leader change is made good by the next one (it recomputes yesterday too), and
 * a tick run twice changes nothing.
 */
@Injectable()
export class MetricsRollupJob implements OnApplicationBootstrap {
  private readonly logger = new Logger(MetricsRollupJob.name);

  constructor(
    private readonly config: AppConfig,
    private readonly jobs: PeriodicJobs,
    private readonly rollups: MetricsRollupService,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.register(
      METRICS_ROLLUP_JOB,
      {
        cron: this.config.get('METRICS_ROLLUP_CRON'),
        timeZone: this.config.get('DEFAULT_TIMEZONE'),
      },
      { leaderOnly: true, run: () => this.rollup() },
    );
  }

  private async rollup(): Promise<void> {
    const rows = await this.rollups.rollupRecent();
    this.logger.log({ msg: 'daily rollup written', rows: rows.length });
  }
}
