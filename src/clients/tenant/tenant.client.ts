import { Injectable } from '@nestjs/common';
import type { Page, Tenant } from '../downstream.types';
import { HttpCore } from '../http/http-core';
import { CallOptions, callFields } from '../services';
import type { TenantStatus } from '../operation-registry';

const MAX_PAGES = 10_000;

/** The tenant service: who the bakeries are. */
@Injectable()
export class TenantClient {
  constructor(private readonly http: HttpCore) {}

  /** Every active tenant, following the pages to the end (ordered by id). */
  listActiveTenants(options: CallOptions & { pageSize?: number } = {}): Promise<Tenant[]> {
    return this.listTenants(['active'], options);
  }

  async listTenants(
    statuses: TenantStatus[] | null,
    options: CallOptions & { pageSize?: number } = {},
  ): Promise<Tenant[]> {
    const out: Tenant[] = [];
    const seen = new Set<string>();
    let page: number | null = 1;
    for (let n = 0; page !== null; n++) {
      // a service that always answers next_page would otherwise keep us here forever
      if (n >= MAX_PAGES) throw new Error(`tenant.list: more than ${MAX_PAGES} pages`);
      const result: Page<Tenant> = await this.http.call<Page<Tenant>>({
        service: 'tenant',
        operation: 'tenant.list',
        method: 'GET',
        path: '/api/v1/tenants',
        query: { status: statuses?.join(','), page, page_size: options.pageSize ?? 500 },
        ...callFields(options, 'tenant.list'),
      });
      for (const tenant of result.items) {
        // a tenant added while paging can shift one into the next page twice
        if (!seen.has(tenant.id)) {
          seen.add(tenant.id);
          out.push(tenant);
        }
      }
      page = result.next_page;
    }
    return out;
  }

  getTenant(tenantId: string, options: CallOptions = {}): Promise<Tenant> {
    return this.http.call<Tenant>({
      service: 'tenant',
      operation: 'tenant.get',
      method: 'GET',
      path: `/api/v1/tenants/${encodeURIComponent(tenantId)}`,
      ...callFields(options, 'tenant.get'),
    });
  }
}
