import { Injectable } from '@nestjs/common';
import { Clock } from 'src/common/time/clock';
import { AppConfig } from 'src/config/app-config.service';
import type { WorkflowView } from 'src/workflows/workflow.view';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { deadMansSwitch, SwitchState } from './alerts/dead-mans-switch';
import { MetricsRepository, Prices, pricesOf } from './metrics.repository';

/** The retraining threshold of the specification: a tenant above it needs attention. */
export const MAPE_THRESHOLD = 30;
const DAY_MS = 86400_000;
const LIST_LIMIT = 20;
const ACCURACY_CACHE_MS = 5 * 60_000;

/**
 * GET /statistics: live figures computed from the executions (not from the rollup), for
 * an operator's dashboard. Each answer reads up to 30 days of history through the
 * executions indexes; it is not meant to be polled every second.
 */
@Injectable()
export class StatisticsService {
  private readonly prices: Prices;
  readonly zone: string;
  private readonly graceSeconds: number;
  private accuracy: {
    at: number;
    value: ReturnType<MetricsRepository['forecastAccuracy']>;
  } | null = null;
  /** extra sections (alerts, deadlines) contributed by the alerts service */
  private readonly sections: ((now: Date) => Promise<Record<string, unknown>>)[] = [];

  constructor(
    private readonly repository: MetricsRepository,
    private readonly workflows: WorkflowsService,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.prices = pricesOf(config);
    this.zone = config.get('DEFAULT_TIMEZONE');
    this.graceSeconds = config.get('DEAD_MANS_SWITCH_GRACE_SECONDS');
  }

  addSection(section: (now: Date) => Promise<Record<string, unknown>>): void {
    this.sections.push(section);
  }

  get(): Promise<Record<string, unknown>> {
    return this.compute(this.clock.now());
  }

  /** The dead man's switch of every enabled, scheduled workflow. */
  async deadMansSwitches(now: Date): Promise<SwitchState[]> {
    const [workflows, beats] = await Promise.all([
      this.workflows.list(),
      this.repository.heartbeats(),
    ]);
    return this.switchesOf(workflows, beats, now);
  }

  private switchesOf(
    workflows: WorkflowView[],
    beats: Awaited<ReturnType<MetricsRepository['heartbeats']>>,
    now: Date,
  ): SwitchState[] {
    const byName = new Map(beats.map((b) => [b.workflow_name, b]));
    return workflows
      .map((w) => {
        const beat = byName.get(w.workflow_name);
        const times = [beat?.last_completed_at, beat?.last_planned_skip_at]
          .filter((t): t is Date => !!t)
          .map((t) => new Date(t).getTime());
        return deadMansSwitch(
          {
            workflowName: w.workflow_name,
            isEnabled: w.is_enabled,
            cronExpression: w.cron_expression,
            timezone: w.timezone,
            updatedAt: new Date(w.updated_at),
            lastHeartbeatAt: times.length > 0 ? new Date(Math.max(...times)) : null,
          },
          now,
          this.graceSeconds,
        );
      })
      .filter((s): s is SwitchState => s !== null);
  }

  /**
   * Validations arrive once a day per tenant, and reading 30 days of them costs seconds at
   * 10,000 tenants (4.7 s measured): recomputed at most every ACCURACY_CACHE_MS.
   */
  private forecastAccuracy(now: Date) {
    const cached = this.accuracy;
    const age = cached ? now.getTime() - cached.at : Infinity;
    if (cached && age >= 0 && age < ACCURACY_CACHE_MS) return cached.value;
    const value = this.repository.forecastAccuracy(new Date(now.getTime() - 30 * DAY_MS), now, {
      threshold: MAPE_THRESHOLD,
      limit: LIST_LIMIT * 5,
      zone: this.zone,
    });
    this.accuracy = { at: now.getTime(), value };
    value.catch(() => (this.accuracy = null));
    return value;
  }

  private async compute(now: Date): Promise<Record<string, unknown>> {
    const since = (days: number) => new Date(now.getTime() - days * DAY_MS);
    const [outcomes, durations, overall, tenants, cost, accuracy, workflows, beats, extra] =
      await Promise.all([
        this.repository.runOutcomes(now),
        this.repository.runDurations(since(30), now),
        this.repository.overallDurations(since(30), now),
        this.repository.slowestTenants(since(7), now, LIST_LIMIT),
        this.repository.costPerTenantDay(since(30), now, this.zone, this.prices),
        this.forecastAccuracy(now),
        this.workflows.list(),
        this.repository.heartbeats(),
        Promise.all(this.sections.map((s) => s(now))),
      ]);
    const rate = (ok: number, total: number) => ({
      runs: total,
      succeeded: ok,
      failed: total - ok,
      success_rate_percentage: total > 0 ? round((100 * ok) / total, 2) : null,
    });
    // the workflows listed once, for the failures and the switches
    const switches = this.switchesOf(workflows, beats, now);
    return {
      generated_at: now.toISOString(),
      success_rate: {
        '24h': rate(outcomes.ok_24h, outcomes.total_24h),
        '7d': rate(outcomes.ok_7d, outcomes.total_7d),
        '30d': rate(outcomes.ok_30d, outcomes.total_30d),
      },
      // measured in milliseconds; the seconds keep three decimals so a sub-second p50 is not 0
      duration_seconds: {
        window_days: 30,
        p50: secondsOf(overall.p50_ms),
        p95: secondsOf(overall.p95_ms),
      },
      duration_ms: {
        window_days: 30,
        p50: roundOrNull(overall.p50_ms, 0),
        p95: roundOrNull(overall.p95_ms, 0),
      },
      slowest_workflows: durations.map((d) => ({
        workflow_name: d.workflow_name,
        runs: d.runs,
        p50_seconds: secondsOf(d.p50_ms),
        p95_seconds: secondsOf(d.p95_ms),
        max_seconds: secondsOf(d.max_ms),
        p50_ms: round(d.p50_ms, 0),
        p95_ms: round(d.p95_ms, 0),
        max_ms: round(d.max_ms, 0),
        success_rate_percentage: d.runs > 0 ? round((100 * d.ok) / d.runs, 2) : null,
      })),
      slowest_tenants: {
        window_days: 7,
        tenants: tenants.map((t) => ({
          ...t,
          avg_seconds: secondsOf(t.avg_ms),
          max_seconds: secondsOf(t.max_ms),
        })),
      },
      consecutive_failures: workflows
        .filter((w) => w.consecutive_failures > 0)
        .map((w) => ({
          workflow_name: w.workflow_name,
          consecutive_failures: w.consecutive_failures,
          last_failure_at: w.last_failure_at,
          last_success_at: w.last_success_at,
        })),
      cost: {
        window_days: 30,
        price_per_downstream_call_eur: this.prices.perCallEur,
        price_per_cpu_second_eur: this.prices.perCpuSecondEur,
        downstream_calls: cost.downstream_calls,
        cpu_seconds: round(cost.cpu_seconds, 3),
        total_eur: round(cost.cost_eur, 4),
        tenant_days: cost.tenant_days,
        per_tenant_per_day_eur: {
          avg: roundOrNull(cost.avg_per_tenant_day, 6),
          p95: roundOrNull(cost.p95_per_tenant_day, 6),
          max: roundOrNull(cost.max_per_tenant_day, 6),
        },
      },
      forecast_accuracy: {
        window_days: 30,
        recomputed_every_seconds: ACCURACY_CACHE_MS / 1000,
        threshold_mape_percentage: MAPE_THRESHOLD,
        tenants_validated: accuracy.summary.tenants,
        avg_latest_mape: roundOrNull(accuracy.summary.avg_latest_mape, 2),
        tenants_above_threshold: accuracy.summary.above_threshold,
        above_threshold: accuracy.worst
          .filter((t) => t.latest_mape > MAPE_THRESHOLD)
          .map((t) => t.tenant_id),
        worst_tenants: accuracy.worst.slice(0, LIST_LIMIT).map((t) => ({
          tenant_id: t.tenant_id,
          latest_mape: round(t.latest_mape, 2),
          first_mape_in_window: round(t.first_mape, 2),
          change_30d: round(t.latest_mape - t.first_mape, 2),
          trend_per_day: roundOrNull(t.slope_per_day, 3),
          samples: t.samples,
          validated_at: new Date(t.validated_at).toISOString(),
        })),
        daily: accuracy.daily,
      },
      dead_mans_switch: {
        grace_seconds: this.graceSeconds,
        triggered: switches.filter((s) => s.triggered).map((s) => s.workflow_name),
        workflows: switches,
      },
      ...Object.assign({}, ...extra),
    };
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function secondsOf(ms: number | null | undefined): number | null {
  return ms === null || ms === undefined ? null : round(ms / 1000, 3);
}

function roundOrNull(n: number | null | undefined, digits: number): number | null {
  return n === null || n === undefined ? null : round(n, digits);
}
