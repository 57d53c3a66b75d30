/** What the fan-out benches share: daily_operations' shape and the simulator journal's verdict. */

export const CRITICAL_PATH_STEPS = 5; // forecasts -> production -> procurement -> inventory -> summary
export const DAILY_OPS = [
  'forecasting.generate',
  'production.generate_schedule',
  'procurement.calculate_needs',
  'inventory.project',
  'forecasting.validate',
  'notification.daily_summary',
];

export interface JournalSummary {
  /** calls the journal holds, of any operation */
  calls: number;
  /** tenants x daily_operations' steps */
  steps: number;
  /** (tenant, operation) pairs called more than once */
  duplicates: number;
  /** (tenant, operation) pairs never called */
  missing: number;
  /** mean time the simulator took to answer, as it journals it */
  avgSimulatorMs: number;
}

/** Reads the simulator's journal: each (tenant, daily step) must appear exactly once. */
export async function journalSummary(simUrl: string, tenants: number): Promise<JournalSummary> {
  const body = (await (await fetch(`${simUrl}/__sim/calls?limit=${tenants * 10}`)).json()) as
    { calls?: unknown[]; items?: unknown[] } | unknown[];
  const journal = (Array.isArray(body) ? body : (body.calls ?? body.items ?? [])) as {
    tenant_id: string;
    operation: string;
    duration_ms?: number;
  }[];
  const counts = new Map<string, number>();
  for (const c of journal) {
    if (!DAILY_OPS.includes(c.operation)) continue;
    const key = `${c.tenant_id}|${c.operation}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const served = journal.filter((c) => typeof c.duration_ms === 'number');
  const totalMs = served.reduce((sum, c) => sum + (c.duration_ms ?? 0), 0);
  return {
    calls: journal.length,
    steps: tenants * DAILY_OPS.length,
    duplicates: [...counts.values()].filter((n) => n > 1).length,
    missing: tenants * DAILY_OPS.length - counts.size,
    avgSimulatorMs: +(totalMs / Math.max(1, served.length)).toFixed(1),
  };
}
