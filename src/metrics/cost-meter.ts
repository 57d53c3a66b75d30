import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { AppConfig } from 'src/config/app-config.service';
import type { FinishedStep } from 'src/executions/execution-listeners.service';
import { CostIncrement, MetricsRepository, Prices, pricesOf } from './metrics.repository';
import { WorkflowMetrics } from './workflow-metrics';

/** Process CPU time so far, in seconds (a port, so tests can drive it). */
export abstract class CpuMeter {
  abstract cpuSeconds(): number;
}

export class ProcessCpuMeter extends CpuMeter {
  cpuSeconds(): number {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
}

const FLUSH_INTERVAL_MS = 1000;
export const COST_FLUSH_JOB = 'cost-meter.flush';
/**
 * A busy instance writes at most this many step events early (before the second is up).
 * At 500, a tenant's six steps were mostly split between two writes: 20,000 upserted rows,
 * half of them updates, for 10,000 tenants (bench/fanout); at 5,000 most are written once.
 */
const FLUSH_AT_EVENTS = 5000;
/** executions whose counters wait while the database is unreachable; beyond, they are dropped */
const MAX_PENDING_EXECUTIONS = 50_000;

/**
 * Cost tracking per tenant execution: downstream calls, step attempts, step time and
 * orchestrator CPU time, added up in memory and written in batches (one multi-row upsert
 * a second), like the step logs (docs/performance.md).
 *
 * CPU is attributed, not measured per call (Node runs every tenant on one thread): the
 * process CPU time consumed between two flushes is shared among the step attempts that
 * finished in that interval, equally. Steps are where the work is (HTTP calls, state
 * writes), so this tracks the real cost closely while the orchestrator is busy; CPU spent
 * while no step finishes (idle timers, scrapes) is charged to nobody. Counters still in
 * memory when a process dies are lost (at most about a second of them).
 */
@Injectable()
export class CostMeter implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(CostMeter.name);
  private pending = new Map<string, CostIncrement>();
  private events = 0;
  private lastCpu: number;
  private flushing: Promise<void> | null = null;
  readonly prices: Prices;

  constructor(
    private readonly repository: MetricsRepository,
    private readonly metrics: WorkflowMetrics,
    private readonly cpu: CpuMeter,
    config: AppConfig,
    private readonly jobs: PeriodicJobs,
  ) {
    this.prices = pricesOf(config);
    this.lastCpu = cpu.cpuSeconds();
  }

  onModuleInit(): void {
    // on every instance: each flushes the counters of the steps it ran
    this.jobs.register(
      COST_FLUSH_JOB,
      { everyMs: FLUSH_INTERVAL_MS },
      { leaderOnly: false, run: () => this.flush() },
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.jobs.remove(COST_FLUSH_JOB);
    await this.flush();
  }

  record(step: FinishedStep): void {
    let row = this.pending.get(step.executionId);
    if (!row) {
      if (this.pending.size >= MAX_PENDING_EXECUTIONS) {
        this.logger.warn({
          msg: 'cost counters dropped: too many executions waiting',
          executionId: step.executionId,
          waiting: this.pending.size,
        });
        return;
      }
      row = {
        executionId: step.executionId,
        runId: step.runId,
        workflowName: step.workflowName,
        tenantId: step.tenantId,
        downstreamCalls: 0,
        stepAttempts: 0,
        failedAttempts: 0,
        stepSeconds: 0,
        cpuSeconds: 0,
      };
      this.pending.set(step.executionId, row);
    }
    row.downstreamCalls += step.calls;
    row.stepAttempts += 1;
    if (step.status === 'failed') row.failedAttempts += 1;
    row.stepSeconds += step.durationMs / 1000;
    this.events += 1;
    if (this.events >= FLUSH_AT_EVENTS) void this.flush();
  }

  /** Writes what is pending; concurrent calls share one write. Never rejects. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async write(): Promise<void> {
    const now = this.cpu.cpuSeconds();
    const consumed = Math.max(0, now - this.lastCpu);
    this.lastCpu = now;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    const attempts = batch.reduce((n, r) => n + r.stepAttempts, 0);
    for (const r of batch)
      r.cpuSeconds += attempts > 0 ? (consumed * r.stepAttempts) / attempts : 0;
    this.pending = new Map();
    this.events = 0;
    try {
      await this.repository.addCosts(batch);
    } catch (err) {
      this.logger.warn({
        msg: 'cost counters not written yet',
        executions: batch.length,
        error: (err as Error).message,
      });
      for (const r of batch) this.merge(r);
      return;
    }
    const byWorkflow = new Map<string, number>();
    for (const r of batch) {
      const cost =
        r.downstreamCalls * this.prices.perCallEur + r.cpuSeconds * this.prices.perCpuSecondEur;
      byWorkflow.set(r.workflowName, (byWorkflow.get(r.workflowName) ?? 0) + cost);
    }
    for (const [workflow, cost] of byWorkflow) this.metrics.costEur.labels(workflow).inc(cost);
  }

  private merge(r: CostIncrement): void {
    const current = this.pending.get(r.executionId);
    if (!current) {
      this.pending.set(r.executionId, r);
      return;
    }
    current.downstreamCalls += r.downstreamCalls;
    current.stepAttempts += r.stepAttempts;
    current.failedAttempts += r.failedAttempts;
    current.stepSeconds += r.stepSeconds;
    current.cpuSeconds += r.cpuSeconds;
  }
}
