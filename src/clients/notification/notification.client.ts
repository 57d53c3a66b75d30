import { Injectable } from '@nestjs/common';
import type {
  DailySummaryRequest,
  NotificationReceipt,
  WeeklyDigestRequest,
  WorkflowFailureRequest,
} from '../downstream.types';
import { HttpCore } from '../http/http-core';
import { CallOptions, callFields } from '../services';

/** The notification service: what the bakery owner and the operators are told. */
@Injectable()
export class NotificationClient {
  constructor(private readonly http: HttpCore) {}

  sendDailySummary(
    request: DailySummaryRequest,
    options: CallOptions = {},
  ): Promise<NotificationReceipt> {
    return this.http.call<NotificationReceipt>({
      service: 'notification',
      operation: 'notification.daily_summary',
      method: 'POST',
      path: '/api/v1/notifications/daily-summary',
      body: request,
      ...callFields(options, 'notification.daily_summary'),
    });
  }

  sendWeeklyDigest(
    request: WeeklyDigestRequest,
    options: CallOptions = {},
  ): Promise<NotificationReceipt> {
    return this.http.call<NotificationReceipt>({
      service: 'notification',
      operation: 'notification.weekly_digest',
      method: 'POST',
      path: '/api/v1/notifications/weekly-digest',
      body: request,
      ...callFields(options, 'notification.weekly_digest'),
    });
  }

  sendWorkflowFailure(
    request: WorkflowFailureRequest,
    options: CallOptions = {},
  ): Promise<NotificationReceipt> {
    return this.http.call<NotificationReceipt>({
      service: 'notification',
      operation: 'notification.workflow_failure',
      method: 'POST',
      path: '/api/v1/notifications/workflow-failure',
      body: request,
      ...callFields(options, 'notification.workflow_failure'),
    });
  }
}
