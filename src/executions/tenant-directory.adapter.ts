import { Injectable } from '@nestjs/common';
import type { Tenant } from 'src/clients/operation-registry';
import { TenantClient } from 'src/clients/tenant/tenant.client';
import { TenantDirectory } from './ports';

/** Every tenant from the tenant service, whatever its status, so skipped ones are counted. */
@Injectable()
export class TenantDirectoryAdapter extends TenantDirectory {
  constructor(private readonly client: TenantClient) {
    super();
  }

  listTenants(signal?: AbortSignal): Promise<Tenant[]> {
    return this.client.listTenants(null, { signal });
  }
}
