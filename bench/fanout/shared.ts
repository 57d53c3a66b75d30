/** What the fan-out benches share: daily_operations' shape and the simulator journal's verdict. */
import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { builtInWorkflows, WorkflowSeed } from 'src/workflows/catalogue/built-in-workflows';
import { JournalEntry, SimulatorChild, spawnSimulator } from 'tools/simulator';

/** daily_operations as the service installs it (the schedule values do not matter here). */
export const DAILY_OPERATIONS: WorkflowSeed = builtInWorkflows({
  DAILY_WORKFLOW_CRON: '0 5 * * *',
  WEEKLY_WORKFLOW_CRON: '0 6 * * 1',
  DEFAULT_TIMEZONE: 'UTC',
  MAX_WORKFLOW_DURATION_SECONDS: 3600,
}).find((w) => w.workflowName === 'daily_operations')!;

/** The operation each step calls: the journal must show each once per tenant. */
export const DAILY_OPS: string[] = DAILY_OPERATIONS.steps.map((s) => s.operation);

/** Steps on the longest dependency chain (forecasts, production, procurement, inventory, summary). */
export const CRITICAL_PATH_STEPS: number = (() => {
  const byName = new Map(DAILY_OPERATIONS.steps.map((s) => [s.name, s]));
  const depth = (name: string): number =>
    1 + Math.max(0, ...(byName.get(name)!.depends_on ?? []).map(depth));
  return Math.max(...DAILY_OPERATIONS.steps.map((s) => depth(s.name)));
})();

/**
 * The simulator both benches call, in its own process: N active tenants, a fixed latency,
 * a journal large enough to hold every call of the run.
 */
export function spawnFanoutSimulator(
  tenants: number,
  latencyMs: number,
  extra: string[] = [],
): Promise<SimulatorChild> {
  return spawnSimulator([
    ...['--port', '0', '--tenants', String(tenants), '--latency-ms', String(latencyMs)],
    ...['--all-active', '--journal-limit', String(tenants * 10), ...extra],
  ]);
}

export interface JournalSummary {
  /** calls of daily_operations' operations the journal holds */
  calls: number;
  /** (tenant, operation) pairs called more than once */
  duplicates: number;
  /** (tenant, operation) pairs never called */
  missing: number;
  /** mean time the simulator took to answer those calls, as it journals it */
  avgSimulatorMs: number;
}

/**
 * Reads the simulator's journal: each (tenant, daily step) must appear exactly once. One
 * operation at a time: the whole journal of 50,000 tenants (300,000 calls) parsed at once
 * does not fit the bench's 256 MB heap.
 */
export async function journalSummary(simUrl: string, tenants: number): Promise<JournalSummary> {
  let calls = 0;
  let duplicates = 0;
  let missing = 0;
  let totalMs = 0;
  for (const operation of new Set(DAILY_OPS)) {
    const res = await fetch(`${simUrl}/__sim/calls?operation=${operation}&limit=${tenants * 10}`);
    const journal = (await res.json()) as JournalEntry[];
    const counts = new Map<string, number>();
    for (const c of journal) counts.set(c.tenant_id!, (counts.get(c.tenant_id!) ?? 0) + 1);
    calls += journal.length;
    totalMs += journal.reduce((sum, c) => sum + c.duration_ms, 0);
    duplicates += [...counts.values()].filter((n) => n > 1).length;
    missing += tenants - counts.size;
  }
  return {
    calls,
    duplicates,
    missing,
    avgSimulatorMs: +(totalMs / Math.max(1, calls)).toFixed(1),
  };
}

/** A bad command line: the message says what to pass; no stack trace is needed. */
export class UsageError extends Error {}

/** `--name value` from the command line, or the fallback when absent. */
export function textArg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith('--')) {
    throw new UsageError(`--${name} needs a value, for example --${name} ${fallback}`);
  }
  return value;
}

/** `--name N` as an integer of at least `min`; says what to pass when it is not one. */
export function intArg(name: string, fallback: number, min = 1): number {
  const text = textArg(name, String(fallback));
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer of at least ${min}, got "${text}"`);
  }
  return n;
}

/**
 * The service's warnings and errors, on stderr: a bench's stdout carries only its JSON
 * report, which --rounds and --instances read (Nest's console logger prints warnings on
 * stdout; with --instances 2 one instance's "stepped down as leader" spoiled the report).
 */
export class StderrLogger extends ConsoleLogger {
  constructor() {
    super({ logLevels: ['error', 'warn'] });
  }

  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}
