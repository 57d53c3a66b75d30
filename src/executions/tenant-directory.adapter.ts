import { Injectable } from '@nestjs/common';
import type { Tenant } from 'src/clients/operation-registry';
import { TenantDirectory } from './ports';

// wired to the tenant client once src/clients lands (see ExecutionsModule)
@Injectable()
export class TenantDirectoryAdapter extends TenantDirectory {
  listTenants(): Promise<Tenant[]> {
    throw new Error('tenant client not wired yet');
  }
}
