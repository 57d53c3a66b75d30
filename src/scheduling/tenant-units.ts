import type { Tenant } from 'src/clients/operation-registry';
import { validateCalendar } from 'src/common/time/calendar';
import { validateTimezone } from 'src/common/time/cron-time';
import { ScheduleUnit, unitKey } from './slot-planner';
import type { TenantFilter } from './scheduling.ports';

/**
 * Per-tenant-timezone workflows (pure): which (timezone, calendar) units the tenants make
 * up, and which tenants a run at one instant is for.
 *
 * A tenant's unit is its own timezone and holiday region; a tenant whose timezone or region
 * is unknown falls back to the workflow's, so a typo in the tenant service cannot make a
 * bakery silently never run.
 */
export function unitOfTenant(tenant: Tenant, fallback: ScheduleUnit): ScheduleUnit {
  const timezone = validateTimezone(tenant.timezone) === null ? tenant.timezone : fallback.timezone;
  const region = tenant.region;
  const calendar =
    region && validateCalendar(region) === null
      ? { country: region.country, region: region.region ?? null }
      : fallback.calendar;
  return { timezone, calendar };
}

/** The distinct units of these tenants; the workflow's own when there are none. */
export function unitsOfTenants(tenants: Tenant[], fallback: ScheduleUnit): ScheduleUnit[] {
  const units = new Map<string, ScheduleUnit>();
  for (const tenant of tenants) {
    const unit = unitOfTenant(tenant, fallback);
    units.set(unitKey(unit), unit);
  }
  if (units.size === 0) units.set(unitKey(fallback), fallback);
  return [...units.values()].sort((a, b) => unitKey(a).localeCompare(unitKey(b)));
}

/**
 * The engine's tenant filter for a run of these units. By timezone when that selects
 * exactly the right tenants (the usual case: the engine then also includes a tenant that
 * appeared since), otherwise by id (a zone only partly due, e.g. one region's holiday, or a
 * tenant on the fallback zone).
 */
export function tenantFilterFor(
  runUnits: ScheduleUnit[],
  tenants: Tenant[],
  fallback: ScheduleUnit,
): TenantFilter {
  const keys = new Set(runUnits.map(unitKey));
  const zones = new Set(runUnits.map((u) => u.timezone));
  const selected = tenants.filter((t) => keys.has(unitKey(unitOfTenant(t, fallback))));
  const chosen = new Set(selected.map((t) => t.id));
  const byZoneIsExact = tenants.every((t) => zones.has(t.timezone) === chosen.has(t.id));
  return byZoneIsExact
    ? { timezones: [...zones].sort() }
    : { tenantIds: selected.map((t) => t.id) };
}
