import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { PeriodicJob, PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { withTimeout } from 'src/common/time/deadline';
import { AppConfig } from 'src/config/app-config.service';
import { DeliveryTrackingOutcome, DeliveryTrackingService } from './delivery-tracking.service';

export const DELIVERY_TRACKING_CRON_JOB = 'delivery_tracking';
const SHUTDOWN_WAIT_MS = 10_000;

/**
 * The in-process hourly job (DELIVERY_TRACKING_CRON, default minute 30): every replica
 * ticks, only the leader runs (a leader-only PeriodicJobs job). The run lock in the
 * database (DeliveryRunRepository) is what makes it once per slot even across a leader
 * change mid-run or a Kubernetes CronJob running the CLI at the same time; the alerts'
 * unique key makes it harmless if both ever ran. Set DELIVERY_TRACKING_IN_PROCESS=false
 * when the CronJob does the work.
 */
@Injectable()
export class DeliveryTrackingCron implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DeliveryTrackingCron.name);
  private readonly job: PeriodicJob<DeliveryTrackingOutcome | null>;
  private readonly shutdown = new AbortController();

  constructor(
    private readonly config: AppConfig,
    private readonly service: DeliveryTrackingService,
    private readonly jobs: PeriodicJobs,
  ) {
    this.job = jobs.define(
      DELIVERY_TRACKING_CRON_JOB,
      { cron: config.get('DELIVERY_TRACKING_CRON'), timeZone: config.get('DEFAULT_TIMEZONE') },
      {
        leaderOnly: true,
        run: async () =>
          this.shutdown.signal.aborted
            ? null
            : this.service.run({ trigger: 'cron', signal: this.shutdown.signal }),
      },
    );
  }

  onApplicationBootstrap(): void {
    if (!this.config.get('DELIVERY_TRACKING_IN_PROCESS')) {
      this.logger.log({
        msg: 'delivery tracking runs outside this process',
        DELIVERY_TRACKING_IN_PROCESS: false,
      });
      return;
    }
    this.job.start();
    this.logger.log({
      msg: 'delivery tracking scheduled',
      cron: this.config.get('DELIVERY_TRACKING_CRON'),
      next: this.nextRunAt()?.toISOString() ?? null,
    });
  }

  nextRunAt(): Date | null {
    return this.job.nextRunAt();
  }

  /**
   * One slot. Resolves to the run's outcome, or null when this instance did not run it
   * (follower, still running the previous slot, shutting down, the run failed: logged).
   * Never rejects.
   */
  async tick(): Promise<DeliveryTrackingOutcome | null> {
    return (await this.job.runNow()) ?? null;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.jobs.remove(DELIVERY_TRACKING_CRON_JOB);
    // in-flight calls are aborted; the run records what it checked and releases its lock
    this.shutdown.abort(new Error('shutting down'));
    await withTimeout(this.job.idle(), SHUTDOWN_WAIT_MS, 'delivery tracking run').catch(
      () => undefined,
    );
  }
}
