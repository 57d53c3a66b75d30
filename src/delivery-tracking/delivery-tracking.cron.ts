import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { withTimeout } from 'src/common/time/deadline';
import { AppConfig } from 'src/config/app-config.service';
import { LeaderGate } from 'src/leader/leader-gate';
import { DeliveryTrackingOutcome, DeliveryTrackingService } from './delivery-tracking.service';

export const DELIVERY_TRACKING_CRON_JOB = 'delivery_tracking';
const SHUTDOWN_WAIT_MS = 10_000;

/**
 * The in-process hourly job (DELIVERY_TRACKING_CRON, default minute 30): every replica
 * ticks, only the leader runs. The run lock in the database (DeliveryRunRepository) is
 * what makes it once per slot even across a leader change mid-run or a Kubernetes
 * CronJob running the CLI at the same time; the alerts' unique key makes it harmless if
 * both ever ran. Set DELIVERY_TRACKING_IN_PROCESS=false when the CronJob does the work.
 * Built on the `cron` engine of @nestjs/schedule, because the expression comes from
 * configuration, which a static @Cron() cannot read.
 */
@Injectable()
export class DeliveryTrackingCron implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DeliveryTrackingCron.name);
  private job: CronJob | null = null;
  private current: Promise<DeliveryTrackingOutcome | null> | null = null;
  private readonly shutdown = new AbortController();

  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(LeaderGate) private readonly leader: LeaderGate,
    @Inject(DeliveryTrackingService) private readonly service: DeliveryTrackingService,
    @Optional() @Inject(SchedulerRegistry) private readonly registry?: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.get('DELIVERY_TRACKING_IN_PROCESS')) {
      this.logger.log(
        'Delivery tracking runs outside this process (DELIVERY_TRACKING_IN_PROCESS=false)',
      );
      return;
    }
    const cronTime = this.config.get('DELIVERY_TRACKING_CRON');
    this.job = CronJob.from({
      cronTime,
      timeZone: this.config.get('DEFAULT_TIMEZONE'),
      name: DELIVERY_TRACKING_CRON_JOB,
      onTick: () => void this.tick(),
      start: true,
    });
    this.registry?.addCronJob(DELIVERY_TRACKING_CRON_JOB, this.job);
    this.logger.log({
      msg: 'delivery tracking scheduled',
      cron: cronTime,
      nextRunAt: this.nextRunAt()?.toISOString() ?? null,
    });
  }

  nextRunAt(): Date | null {
    return this.job ? this.job.nextDate().toJSDate() : null;
  }

  /**
   * One slot. Resolves to the run's outcome, or null when this instance did not run it
   * (follower, still running the previous slot, shutting down). Never rejects: a timer
   * must not produce an unhandled rejection.
   */
  tick(): Promise<DeliveryTrackingOutcome | null> {
    if (this.shutdown.signal.aborted) return Promise.resolve(null);
    if (this.current) {
      this.logger.warn('Delivery tracking slot skipped: the previous run is still going');
      return Promise.resolve(null);
    }
    this.current = this.runAsLeader().finally(() => (this.current = null));
    return this.current;
  }

  private async runAsLeader(): Promise<DeliveryTrackingOutcome | null> {
    try {
      const result = await this.leader.runIfLeader(() =>
        this.service.run({ trigger: 'cron', signal: this.shutdown.signal }),
      );
      if (!result.ran) {
        this.logger.debug('Delivery tracking slot left to the leader');
        return null;
      }
      return result.value;
    } catch (err) {
      this.logger.error({
        msg: 'delivery tracking run could not be recorded',
        error: (err as Error).message,
      });
      return null;
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.job) {
      await this.job.stop();
      if (this.registry?.doesExist('cron', DELIVERY_TRACKING_CRON_JOB)) {
        this.registry.deleteCronJob(DELIVERY_TRACKING_CRON_JOB);
      }
    }
    // in-flight calls are aborted; the run records what it checked and releases its lock
    this.shutdown.abort(new Error('shutting down'));
    if (this.current) {
      await withTimeout(this.current, SHUTDOWN_WAIT_MS, 'delivery tracking run').catch(
        () => undefined,
      );
    }
  }
}
