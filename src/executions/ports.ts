import type { Tenant } from 'src/clients/operation-registry';

/** Who the tenants are. Adapted from the tenant client in executions.module.ts. */
export abstract class TenantDirectory {
  /** Every tenant whatever its status, so suspended and cancelled ones can be counted as skipped. */
  abstract listTenants(signal?: AbortSignal): Promise<Tenant[]>;
}
