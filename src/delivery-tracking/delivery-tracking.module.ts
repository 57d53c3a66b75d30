import { DynamicModule, Module, Provider } from '@nestjs/common';
import { register } from 'prom-client';
import { PeriodicJobsModule } from 'src/common/jobs/periodic-jobs.module';
import { ClientsModule } from 'src/clients/clients.module';
import { OutboxService } from 'src/events/outbox.service';
import { DeliveryAlertRepository } from './delivery-alert.repository';
import { DeliveryRunRepository } from './delivery-run.repository';
import { ExecutionHistoryModule } from 'src/executions/execution-history.module';
import {
  ExecutionHistoryRecorder,
  ProcurementOrderSource,
  TenantClientSource,
} from './delivery-tracking.adapters';
import { DeliveryTrackingCron } from './delivery-tracking.cron';
import { DeliveryTrackingMetrics } from './delivery-tracking.metrics';
import {
  DeliveryAlertOutbox,
  DeliveryRunRecorder,
  DeliveryTenantSource,
  PurchaseOrderSource,
} from './delivery-tracking.ports';
import { DeliveryTrackingService } from './delivery-tracking.service';

export interface DeliveryTrackingModuleOptions {
  /**
   * The hourly in-process job (needs LeaderGate). The one-shot CLI leaves it out; the
   * service includes it and DELIVERY_TRACKING_IN_PROCESS decides whether it ticks.
   */
  inProcessJob: boolean;
  /** binds the execution history; default: RunHistoryService of the executions module */
  recorder?: Provider;
}

/**
 * Hourly purchase-order delivery alerts. Needs, from global modules: AppConfig, Clock,
 * the TypeORM DataSource, OutboxService (EventsModule) and, with the job, LeaderGate.
 * Exports DeliveryTrackingService.
 */
@Module({})
export class DeliveryTrackingModule {
  static register(options: DeliveryTrackingModuleOptions): DynamicModule {
    return {
      module: DeliveryTrackingModule,
      imports: [
        ClientsModule,
        ExecutionHistoryModule,
        ...(options.inProcessJob ? [PeriodicJobsModule] : []),
      ],
      providers: [
        DeliveryAlertRepository,
        DeliveryRunRepository,
        // the default registry is the one /metrics serves
        {
          provide: DeliveryTrackingMetrics,
          useFactory: () => new DeliveryTrackingMetrics(register),
        },
        { provide: DeliveryTenantSource, useClass: TenantClientSource },
        { provide: PurchaseOrderSource, useClass: ProcurementOrderSource },
        { provide: DeliveryAlertOutbox, useExisting: OutboxService },
        options.recorder ?? { provide: DeliveryRunRecorder, useClass: ExecutionHistoryRecorder },
        DeliveryTrackingService,
        ...(options.inProcessJob ? [DeliveryTrackingCron] : []),
      ],
      exports: [DeliveryTrackingService],
    };
  }
}
