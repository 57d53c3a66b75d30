import { Inject, Injectable } from '@nestjs/common';
import { ProcurementClient } from 'src/clients/procurement/procurement.client';
import { TenantClient } from 'src/clients/tenant/tenant.client';
import { RunHistoryService } from 'src/executions/run-history.service';
import { AWAITED_STATUSES, TrackedPurchaseOrder } from './delivery-rules';
import {
  DeliveryRunRecorder,
  DeliveryRunReport,
  DeliveryTenantSource,
  PurchaseOrderSource,
} from './delivery-tracking.ports';

/** The ports bound to the downstream clients (their HTTP core retries, times out, limits). */
@Injectable()
export class TenantClientSource extends DeliveryTenantSource {
  constructor(@Inject(TenantClient) private readonly client: TenantClient) {
    super();
  }

  async listActiveTenantIds(signal: AbortSignal): Promise<string[]> {
    const tenants = await this.client.listActiveTenants({ signal });
    // the query asks for active ones; a service that ignores the filter must not widen the run
    return tenants.filter((t) => t.status === 'active').map((t) => t.id);
  }
}

@Injectable()
export class ProcurementOrderSource extends PurchaseOrderSource {
  constructor(@Inject(ProcurementClient) private readonly client: ProcurementClient) {
    super();
  }

  listAwaitedOrders(
    tenantId: string,
    deliveryBefore: Date,
    signal: AbortSignal,
  ): Promise<TrackedPurchaseOrder[]> {
    // the awaited statuses only: a received order gets no alert, so it need not travel
    return this.client.listPurchaseOrdersForDelivery(
      tenantId,
      { deliveryBefore, statuses: [...AWAITED_STATUSES] },
      { signal },
    );
  }
}

/** Each run as a finished `delivery_tracking` execution in the history API. */
@Injectable()
export class ExecutionHistoryRecorder extends DeliveryRunRecorder {
  constructor(@Inject(RunHistoryService) private readonly history: RunHistoryService) {
    super();
  }

  async record(report: DeliveryRunReport): Promise<void> {
    await this.history.recordStandaloneRun({
      workflowName: 'delivery_tracking',
      executionType: report.trigger === 'cron' ? 'scheduled' : 'manual',
      startedAt: report.startedAt,
      completedAt: report.finishedAt,
      status: report.status,
      resultSummary: { ...report.summary, delivery_run_id: report.runId, trigger: report.trigger },
      errorMessage: report.errorMessage,
      instanceId: report.instanceId,
    });
  }
}
