import { Injectable } from '@nestjs/common';
import type { ArchiveResult } from '../downstream.types';
import { HttpCore } from '../http/http-core';
import { CallOptions, callFields } from '../services';

/** The alert processor: housekeeping of resolved alerts. */
@Injectable()
export class AlertProcessorClient {
  constructor(private readonly http: HttpCore) {}

  /** Archives the tenant's (null: every tenant's) alerts resolved more than `olderThanDays` ago. */
  archiveResolved(
    tenantId: string | null,
    olderThanDays: number,
    options: CallOptions = {},
  ): Promise<ArchiveResult> {
    return this.http.call<ArchiveResult>({
      service: 'alert_processor',
      operation: 'alert_processor.archive_resolved',
      method: 'POST',
      path: '/api/v1/alerts/archive-resolved',
      body: { tenant_id: tenantId, older_than_days: olderThanDays },
      ...callFields(options, 'alert_processor.archive_resolved'),
    });
  }
}
