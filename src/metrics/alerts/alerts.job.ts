import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { AppConfig } from 'src/config/app-config.service';
import { LeaderGate } from 'src/leader/leader-gate';
import { LeaderOnly } from 'src/leader/leader-only.decorator';
import { AlertsService } from './alerts.service';

/**
 * Runs the periodic alert checks every ALERTS_CHECK_INTERVAL_SECONDS on the leader (one
 * evaluator; the unique open-alert index would make a second one harmless anyway). The
 * timer only paces the checks: every decision inside reads the injected Clock.
 */
@Injectable()
export class AlertsJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(AlertsJob.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly leader: LeaderGate,
    private readonly alerts: AlertsService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(
      () => void this.tick(),
      this.config.get('ALERTS_CHECK_INTERVAL_SECONDS') * 1000,
    );
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  @LeaderOnly()
  async tick(): Promise<void> {
    const opened = await this.alerts.evaluate();
    if (opened.length > 0) this.logger.warn({ msg: 'alerts opened', opened: opened.length });
  }
}
