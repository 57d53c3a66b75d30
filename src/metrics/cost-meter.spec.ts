import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { Registry } from 'prom-client';
import { AppConfig } from 'src/config/app-config.service';
import { validateEnv } from 'src/config/validate-env';
import type { FinishedStep } from 'src/executions/execution-listeners.service';
import { CostMeter, CpuMeter } from './cost-meter';
import type { CostIncrement, MetricsRepository } from './metrics.repository';
import { WorkflowMetrics } from './workflow-metrics';

class FakeCpu extends CpuMeter {
  seconds = 10;
  cpuSeconds(): number {
    return this.seconds;
  }
}

const step = (executionId: string, o: Partial<FinishedStep> = {}): FinishedStep => ({
  executionId,
  runId: 'run-1',
  tenantId: `tenant-${executionId}`,
  workflowName: 'daily_operations',
  stepName: 'generate_forecasts',
  operation: 'forecasting.generate',
  status: 'completed',
  durationMs: 500,
  calls: 1,
  ...o,
});

describe(CostMeter.name, () => {
  const written: CostIncrement[][] = [];
  let failNext = false;
  const repository = {
    addCosts: async (rows: CostIncrement[]) => {
      if (failNext) {
        failNext = false;
        throw new Error('database down');
      }
      written.push(rows.map((r) => ({ ...r })));
    },
  } as unknown as MetricsRepository;
  const registry = new Registry();
  const metrics = new WorkflowMetrics(registry);
  const cpu = new FakeCpu();
  const config = new AppConfig(
    validateEnv({ COST_PER_DOWNSTREAM_CALL_EUR: '0.01', COST_PER_CPU_SECOND_EUR: '1' }),
  );
  const meter = new CostMeter(
    repository,
    metrics,
    cpu,
    config,
    new PeriodicJobs(new SchedulerRegistry()),
  );

  beforeEach(() => (written.length = 0));

  it('adds up calls and attempts per execution and shares the CPU used since the last flush by attempt', async () => {
    meter.record(step('a'));
    meter.record(step('a', { stepName: 'validate', status: 'failed', calls: 3 }));
    meter.record(step('b'));
    cpu.seconds += 0.9;
    await meter.flush();
    expect(written).toHaveLength(1);
    const [a, b] = written[0];
    expect(a).toMatchObject({
      executionId: 'a',
      downstreamCalls: 4,
      stepAttempts: 2,
      failedAttempts: 1,
      stepSeconds: 1,
    });
    expect(a.cpuSeconds).toBeCloseTo(0.6);
    expect(b).toMatchObject({ executionId: 'b', downstreamCalls: 1, stepAttempts: 1 });
    expect(b.cpuSeconds).toBeCloseTo(0.3);
    // 5 calls x 0.01 + 0.9 CPU-s x 1
    const cost = (await registry.getSingleMetric('orchestrator_cost_eur_total')!.get()).values;
    expect(cost[0].value).toBeCloseTo(0.95);
  });

  it('charges nobody for CPU used while no step finished, and writes nothing', async () => {
    cpu.seconds += 5;
    await meter.flush();
    meter.record(step('c'));
    cpu.seconds += 0.1;
    await meter.flush();
    expect(written).toHaveLength(1);
    expect(written[0][0].cpuSeconds).toBeCloseTo(0.1);
  });

  it('keeps the counters for the next flush when the write fails', async () => {
    meter.record(step('d', { calls: 2 }));
    failNext = true;
    await meter.flush();
    meter.record(step('d', { calls: 1 }));
    await meter.flush();
    expect(written).toHaveLength(1);
    expect(written[0][0]).toMatchObject({ executionId: 'd', downstreamCalls: 3, stepAttempts: 2 });
  });
});
