import type { Tenant } from 'src/clients/operation-registry';
import { ExecutionError, ExecutionErrorCode } from './execution.errors';
import { TenantDirectory } from './ports';

/** Which tenants a run takes: `tenantIds` and `timezones` narrow it, only active ones run. */
export interface TenantFilter {
  timezones?: string[];
  tenantIds?: string[];
}

/** Every tenant, or `EXECUTION_TENANTS_UNAVAILABLE` naming the tenant service and its error. */
export async function listTenantsOrThrow(directory: TenantDirectory): Promise<Tenant[]> {
  try {
    return await directory.listTenants();
  } catch (err) {
    throw new ExecutionError(
      ExecutionErrorCode.TenantsUnavailable,
      `cannot list tenants from the tenant service: ${(err as Error).message}`,
    );
  }
}

/** The active tenants the filter keeps, and the others it keeps counted by status. */
export function selectTenants(all: Tenant[], filter?: TenantFilter) {
  const skipped: Record<string, number> = {};
  const selected: Tenant[] = [];
  const ids = filter?.tenantIds ? new Set(filter.tenantIds) : null;
  const zones = filter?.timezones ? new Set(filter.timezones) : null;
  for (const t of all) {
    if (ids && !ids.has(t.id)) continue;
    if (zones && !zones.has(t.timezone)) continue;
    if (t.status !== 'active') {
      skipped[t.status] = (skipped[t.status] ?? 0) + 1;
      continue;
    }
    selected.push(t);
  }
  return { selected, skipped };
}

/** Refuses (400) tenant ids that are unknown or not active, each named by its position. */
export function checkTenantIds(ids: string[], all: Tenant[]): void {
  const known = new Map(all.map((t) => [t.id, t]));
  const problems = ids.flatMap((id, i) => {
    const t = known.get(id);
    if (!t) return [{ field: `tenant_ids[${i}]`, message: `unknown tenant ${id}` }];
    if (t.status !== 'active')
      return [{ field: `tenant_ids[${i}]`, message: `tenant ${id} is ${t.status}` }];
    return [];
  });
  if (problems.length > 0) {
    throw new ExecutionError(
      ExecutionErrorCode.Invalid,
      problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      problems,
    );
  }
}
