/**
 * A tenant's plan, as the tenant service names it. It lives here, not in the clients module,
 * because configuration parses it too (WORKFLOW_DEADLINES) and config imports only common.
 */
export const SUBSCRIPTION_TIERS = ['enterprise', 'professional', 'starter', 'free'] as const;

export type SubscriptionTier = (typeof SUBSCRIPTION_TIERS)[number];
