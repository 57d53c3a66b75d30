import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { CronJob } from 'cron';
import { AppConfig } from 'src/config/app-config.service';
import { LeaderGate } from 'src/leader/leader-gate';
import { LeaderOnly } from 'src/leader/leader-only.decorator';
import { MetricsRollupService } from './rollup.service';

/**
 * The daily rollup (METRICS_ROLLUP_CRON in DEFAULT_TIMEZONE, default 00:15): every
 * replica ticks, only the leader writes. Since the rollup is idempotent, a tick missed
 * during a leader change is made good by the next one (it recomputes yesterday too), and
 * a tick run twice changes nothing.
 */
@Injectable()
export class MetricsRollupJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(MetricsRollupJob.name);
  private job: CronJob | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly leader: LeaderGate,
    private readonly rollups: MetricsRollupService,
  ) {}

  onApplicationBootstrap(): void {
    this.job = CronJob.from({
      cronTime: this.config.get('METRICS_ROLLUP_CRON'),
      timeZone: this.config.get('DEFAULT_TIMEZONE'),
      onTick: () => void this.tick(),
      start: true,
    });
  }

  beforeApplicationShutdown(): void {
    void this.job?.stop();
    this.job = null;
  }

  @LeaderOnly()
  async tick(): Promise<void> {
    const rows = await this.rollups.rollupRecent();
    this.logger.log({ msg: 'daily rollup written', rows: rows.length });
  }
}
