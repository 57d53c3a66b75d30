import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { AppConfig } from 'src/config/app-config.service';
import { AlertsService } from './alerts.service';

export const ALERTS_JOB = 'alerts_check';

/**
 * Runs the periodic alert checks every ALERTS_CHECK_INTERVAL_SECONDS on the leader (one
 * evaluator; the unique open-alert index would make a second one harmless anyway). The
 * interval only paces the checks: every decision inside reads the injected Clock.
 */
@Injectable()
export class AlertsJob implements OnApplicationBootstrap {
  private readonly logger = new Logger(AlertsJob.name);

  constructor(
    private readonly config: AppConfig,
    private readonly jobs: PeriodicJobs,
    private readonly alerts: AlertsService,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.register(
      ALERTS_JOB,
      { everyMs: this.config.get('ALERTS_CHECK_INTERVAL_SECONDS') * 1000 },
      { leaderOnly: true, run: () => this.check() },
    );
  }

  private async check(): Promise<void> {
    const opened = await this.alerts.evaluate();
    if (opened.length > 0) this.logger.warn({ msg: 'alerts opened', opened: opened.length });
  }
}
