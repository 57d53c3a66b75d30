import type { SubscriptionTier, Tenant } from 'src/clients/operation-registry';

const TIER_PRIORITY: Record<SubscriptionTier, number> = {
  enterprise: 3,
  professional: 2,
  starter: 1,
  free: 0,
};

/** Claim priority of a tenant: higher tiers first (the claim query then orders by tenant id). */
export function tierPriority(tier: SubscriptionTier | string | undefined): number {
  return TIER_PRIORITY[tier as SubscriptionTier] ?? 0;
}

/** The subscription tier a claim priority stands for (the inverse of tierPriority). */
export function tierOfPriority(priority: number): SubscriptionTier {
  const found = Object.entries(TIER_PRIORITY).find(([, p]) => p === priority);
  return (found?.[0] as SubscriptionTier | undefined) ?? 'free';
}

/**
 * Tenants in the order they are started: enterprise first, then by id as the database orders
 * the uuid column (lower-case hex, byte by byte), which is the claim query's order, so a run
 * whose tenants are inserted in batches (RunExpander) keeps it across batches.
 */
export function orderTenants<T extends Pick<Tenant, 'id' | 'subscription_tier'>>(
  tenants: T[],
): T[] {
  const keyed = tenants.map((t) => ({
    t,
    p: tierPriority(t.subscription_tier),
    id: t.id.toLowerCase(),
  }));
  keyed.sort((a, b) => b.p - a.p || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return keyed.map((k) => k.t);
}
