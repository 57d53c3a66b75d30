import { Injectable } from '@nestjs/common';
import { NotificationClient } from 'src/clients/notification/notification.client';
import type { AlertRow } from './alerts.repository';

/** Tells the platform operators about an alert (a port: tests record instead). */
export abstract class AlertNotifier {
  abstract notify(alert: AlertRow): Promise<void>;
}

/**
 * Through the notification service's workflow-failure notice (tenant_id null: a
 * platform-wide problem). The alert id is the idempotency key, so a retried notice is
 * sent once.
 */
@Injectable()
export class NotificationAlertNotifier extends AlertNotifier {
  constructor(private readonly notifications: NotificationClient) {
    super();
  }

  async notify(alert: AlertRow): Promise<void> {
    await this.notifications.sendWorkflowFailure(
      {
        tenant_id: null,
        workflow_name: alert.workflowName ?? 'orchestrator',
        error_message: `[${alert.severity}] ${alert.message}`,
        ...(typeof alert.details.execution_id === 'string'
          ? { execution_id: alert.details.execution_id }
          : {}),
        ...(typeof alert.details.tenants_affected === 'number'
          ? { tenants_affected: alert.details.tenants_affected }
          : {}),
      },
      { idempotencyKey: `orchestrator-alert:${alert.id}` },
    );
  }
}
