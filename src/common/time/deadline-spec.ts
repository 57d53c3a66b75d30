import { SUBSCRIPTION_TIERS, SubscriptionTier } from 'src/common/tenancy/subscription-tier';

/** "every tenant done by 08:30" for a workflow, optionally tighter for one tier. */
export interface DeadlineRule {
  workflow: string;
  /** null: every tenant not covered by a tier rule */
  tier: SubscriptionTier | null;
  /** local wall time in the workflow's timezone, "HH:MM" */
  localTime: string;
  /** minutes after local midnight */
  minutes: number;
}

const ENTRY = /^([a-z0-9_]{1,255})(?:@([a-z]+))?=([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * WORKFLOW_DEADLINES: comma-separated `workflow[@tier]=HH:MM`, e.g.
 * `daily_operations=08:30,daily_operations@enterprise=08:15`. Returns undefined when any
 * entry is malformed or repeated, so the service refuses to start (validateEnv).
 */
export function parseDeadlines(raw: string): DeadlineRule[] | undefined {
  const rules: DeadlineRule[] = [];
  const seen = new Set<string>();
  for (const part of raw.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const m = ENTRY.exec(part);
    if (!m) return undefined;
    const [, workflow, tier, hh, mm] = m;
    if (tier !== undefined && !(SUBSCRIPTION_TIERS as readonly string[]).includes(tier))
      return undefined;
    const key = `${workflow}@${tier ?? ''}`;
    if (seen.has(key)) return undefined;
    seen.add(key);
    rules.push({
      workflow,
      tier: (tier as SubscriptionTier | undefined) ?? null,
      localTime: `${hh}:${mm}`,
      minutes: Number(hh) * 60 + Number(mm),
    });
  }
  return rules.length > 0 ? rules : undefined;
}
