import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { AppConfig } from 'src/config/app-config.service';
import { validateEnv } from 'src/config/validate-env';
import { LeaderGate } from 'src/common/jobs/leader-gate';
import { DELIVERY_TRACKING_CRON_JOB, DeliveryTrackingCron } from './delivery-tracking.cron';
import { DeliveryTrackingOutcome, DeliveryTrackingService } from './delivery-tracking.service';

class SwitchableGate extends LeaderGate {
  leading = true;
  isLeader = () => this.leading;
  term = () => (this.leading ? '3' : null);
  instanceId = () => 'pod-a';
  async runIfLeader<T>(fn: (term: string) => Promise<T>) {
    return this.leading ? { ran: true as const, value: await fn('3') } : { ran: false as const };
  }
}

const COMPLETED = { status: 'completed', runId: 'r1' } as DeliveryTrackingOutcome;

function setup(env: Record<string, string> = {}) {
  const gate = new SwitchableGate();
  let release: () => void = () => {};
  const run = jest.fn(
    (_options: { signal?: AbortSignal }) =>
      new Promise<DeliveryTrackingOutcome>((resolve) => (release = () => resolve(COMPLETED))),
  );
  const registry = new SchedulerRegistry();
  const cron = new DeliveryTrackingCron(
    new AppConfig(validateEnv(env)),
    { run } as unknown as DeliveryTrackingService,
    new PeriodicJobs(registry, gate),
  );
  return { gate, run, cron, registry, release: () => release() };
}

describe(DeliveryTrackingCron.name, () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  it('runs the job on the leader, as a cron-triggered run', async () => {
    const { cron, run, release } = setup();
    const tick = cron.tick();
    release();
    expect(await tick).toBe(COMPLETED);
    expect(run).toHaveBeenCalledWith(expect.objectContaining({ trigger: 'cron' }));
  });

  it('leaves the slot to the leader on a follower', async () => {
    const { cron, run, gate } = setup();
    gate.leading = false;
    expect(await cron.tick()).toBeNull();
    expect(run).not.toHaveBeenCalled();
  });

  it('skips a slot while the previous run is still going', async () => {
    const { cron, run, release } = setup();
    const first = cron.tick();
    expect(await cron.tick()).toBeNull();
    release();
    await first;
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('never rejects when the run throws', async () => {
    const { cron, run } = setup();
    run.mockRejectedValueOnce(new Error('database down'));
    await expect(cron.tick()).resolves.toBeNull();
  });

  it('schedules at minute 30 of every hour by default, and not at all when run outside', async () => {
    const inProcess = setup();
    inProcess.cron.onApplicationBootstrap();
    const next = inProcess.cron.nextRunAt()!;
    expect(next.getUTCMinutes()).toBe(30);
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(inProcess.registry.doesExist('cron', DELIVERY_TRACKING_CRON_JOB)).toBe(true);
    await inProcess.cron.beforeApplicationShutdown();
    expect(inProcess.registry.doesExist('cron', DELIVERY_TRACKING_CRON_JOB)).toBe(false);

    const outside = setup({ DELIVERY_TRACKING_IN_PROCESS: 'false' });
    outside.cron.onApplicationBootstrap();
    expect(outside.cron.nextRunAt()).toBeNull();
    expect(outside.registry.getCronJobs().size).toBe(0);
  });

  it('follows DELIVERY_TRACKING_CRON', async () => {
    const { cron } = setup({ DELIVERY_TRACKING_CRON: '5 */2 * * *' });
    cron.onApplicationBootstrap();
    expect(cron.nextRunAt()!.getUTCMinutes()).toBe(5);
    await cron.beforeApplicationShutdown();
  });

  it('aborts the running job on shutdown and waits for it', async () => {
    const { cron, run, release } = setup();
    const tick = cron.tick();
    const signal = run.mock.calls[0][0].signal!;
    const stopping = cron.beforeApplicationShutdown();
    expect(signal.aborted).toBe(true);
    release();
    await stopping;
    expect(await tick).toBe(COMPLETED);
    expect(await cron.tick()).toBeNull();
  });
});
