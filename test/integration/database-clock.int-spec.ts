import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { register } from 'prom-client';
import { DataSource } from 'typeorm';
import { SystemClock } from 'src/common/time/clock';
import { FakeClock } from '../fakes/fake-clock';
import type { AppConfig } from 'src/config/app-config.service';
import { buildDataSourceOptions } from 'src/database/data-source';
import { CLOCK_SKEW_METRIC, ClockSkewChange, DatabaseClock } from 'src/database/database-clock';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const jobs = () => new PeriodicJobs(new SchedulerRegistry());

/** The system clock shifted, as libfaketime shifts it for a whole process. */
class ShiftedSystemClock extends SystemClock {
  constructor(public shiftMs: number) {
    super();
  }
  override now(): Date {
    return new Date(Date.now() + this.shiftMs);
  }
}

const config = (maxSkewSeconds: number) => ({ get: () => maxSkewSeconds }) as unknown as AppConfig;

/** DatabaseClock against PostgreSQL: the offset, the corrected time, the skew reports. */
describeWith(['postgres'], DatabaseClock.name, () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    db = await createTestDatabase({ migrated: false });
    ds = new DataSource(buildDataSourceOptions({ DATABASE_URL: db.url, DATA_DIR: '' }));
    await ds.initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
    Logger.overrideLogger(['log', 'error', 'warn']);
  });

  const databaseNow = async () =>
    new Date((await ds.query(`SELECT clock_timestamp() AS now`))[0].now).getTime();

  it('reads the database time on an instance whose clock is 90 s fast, and reports the skew once', async () => {
    const local = new ShiftedSystemClock(90_000);
    const clock = new DatabaseClock(local, ds, config(5), jobs());
    const changes: ClockSkewChange[] = [];
    clock.onSkewChange((c) => changes.push(c));

    await clock.measure();
    expect(clock.offset()).toBeGreaterThan(89_000);
    expect(clock.offset()).toBeLessThan(91_000);
    expect(Math.abs(clock.now().getTime() - (await databaseNow()))).toBeLessThan(1_000);
    const gauge = await register.getSingleMetric(CLOCK_SKEW_METRIC)!.get();
    expect(gauge.values[0].value).toBeCloseTo(clock.offset() / 1000, 3);

    await clock.measure();
    expect(changes.map((c) => c.skewed)).toEqual([true]);

    // a listener registered after the skew was found hears it too
    const late: ClockSkewChange[] = [];
    clock.onSkewChange((c) => late.push(c));
    expect(late.map((c) => c.skewed)).toEqual([true]);

    local.shiftMs = 0; // the clock was fixed (NTP)
    await clock.measure();
    expect(changes.map((c) => c.skewed)).toEqual([true, false]);
    expect(Math.abs(clock.offset())).toBeLessThan(1_000);
  });

  it('stays quiet within the limit', async () => {
    const clock = new DatabaseClock(new ShiftedSystemClock(2_000), ds, config(5), jobs());
    const changes: ClockSkewChange[] = [];
    clock.onSkewChange((c) => changes.push(c));
    await clock.measure();
    expect(clock.offset()).toBeGreaterThan(1_000);
    expect(changes).toEqual([]);
  });

  it('measures again only when the last measurement is older than asked', async () => {
    const local = new ShiftedSystemClock(0);
    const clock = new DatabaseClock(local, ds, config(5), jobs());
    await clock.measureIfOlder(10_000);
    local.shiftMs = 30_000;
    await clock.measureIfOlder(60_000); // 30 s later by this clock: still fresh
    expect(Math.abs(clock.offset())).toBeLessThan(1_000);
    await clock.measureIfOlder(10_000);
    expect(clock.offset()).toBeGreaterThan(29_000);
  });

  it("takes a test's clock as is", async () => {
    const fake = new FakeClock(new Date('2026-01-05T07:00:00Z'));
    const clock = new DatabaseClock(fake, ds, config(5), jobs());
    await clock.measureIfOlder(0);
    expect(clock.now()).toEqual(new Date('2026-01-05T07:00:00Z'));
  });
});
