import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Clock } from 'src/common/time/clock';
import type { ClosedRun, FinishedStep } from 'src/executions/execution-listeners.service';
import { ExecutionListenersService } from 'src/executions/execution-listeners.service';
import { AlertsRepository } from './alerts/alerts.repository';
import { CostMeter } from './cost-meter';
import { addDays, localDateOf } from './local-day';
import { MetricsRepository, RollupRow } from './metrics.repository';
import { MetricsRollupService } from './rollup.service';
import { WorkflowMetrics } from './workflow-metrics';
import { WorkflowsService } from 'src/workflows/workflows.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const DEFAULT_DAYS = 30;

/**
 * Facade of the metrics module: feeds the Prometheus series and the cost counters from
 * the engine's run and step listeners, and answers GET /metrics (rollups).
 */
@Injectable()
export class MetricsService implements OnApplicationBootstrap {
  private readonly stepChildren = new Map<string, { observe(seconds: number): void }>();

  constructor(
    private readonly executions: ExecutionListenersService,
    private readonly metrics: WorkflowMetrics,
    private readonly costs: CostMeter,
    private readonly repository: MetricsRepository,
    private readonly rollups: MetricsRollupService,
    private readonly clock: Clock,
    private readonly alerts: AlertsRepository,
    private readonly workflows: WorkflowsService,
  ) {}

  onApplicationBootstrap(): void {
    this.executions.onRunClosed((run) => this.recordRun(run));
    this.executions.onStepFinished((step) => this.recordStep(step));
    this.metrics.observe(async () => ({
      ...(await this.repository.scrapeSnapshot(this.clock.now())),
      openAlerts: await this.alerts.countOpenByKind(),
    }));
  }

  recordRun({ parent, status, summary }: ClosedRun): void {
    const workflow = parent.workflowName;
    this.metrics.executions.labels(workflow, status).inc();
    const duration = Number(summary.duration_seconds);
    if (Number.isFinite(duration)) this.metrics.duration.labels(workflow).observe(duration);
    for (const [label, key] of [
      ['completed', 'tenants_succeeded'],
      ['failed', 'tenants_failed'],
      ['cancelled', 'tenants_cancelled'],
    ] as const) {
      const n = Number(summary[key] ?? 0);
      if (n > 0) this.metrics.tenants.labels(workflow, label).inc(n);
    }
  }

  recordStep(step: FinishedStep): void {
    // label children cached: prom-client hashes the labels on every lookup, and this runs
    // once per step of every tenant
    const key = `${step.workflowName}\u0000${step.operation}\u0000${step.status}`;
    let child = this.stepChildren.get(key);
    if (!child) {
      child = this.metrics.stepDuration.labels(step.workflowName, step.operation, step.status);
      this.stepChildren.set(key, child);
    }
    child.observe(step.durationMs / 1000);
    this.costs.record(step);
  }

  /** Rollup rows of a date range (default: the last 30 days up to today). */
  async rollupsBetween(q: { from?: string; to?: string; workflow?: string }) {
    const to = q.to ?? localDateOf(this.clock.now(), this.rollups.zone);
    const from = q.from ?? addDays(to, -(DEFAULT_DAYS - 1));
    // the rollup rows carry the name; a workflow given by id is resolved (404 if unknown)
    const workflow =
      q.workflow !== undefined && UUID.test(q.workflow)
        ? (await this.workflows.get(q.workflow)).workflowName
        : q.workflow;
    const items: (RollupRow & { live: boolean })[] = await this.rollups.list(from, to, workflow);
    return { from, to, timezone: this.rollups.zone, items };
  }
}
