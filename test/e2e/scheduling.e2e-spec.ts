import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { tokenFor } from '../utils/auth';
import { ServiceProcess, freePort, serviceEnv } from '../utils/service-process';
import { callApi } from '../utils/e2e';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';
import { eventually } from '../utils/wait';

const API = '/api/v1/orchestrator';
const ADMIN = tokenFor('admin');

const api = (service: ServiceProcess, method: string, path: string, body?: unknown) =>
  callApi(service.baseUrl, ADMIN, method, path, body);

interface Entry {
  workflow_name: string;
  cron_expression: string | null;
  next_execution_at: string | null;
  next_run: { at: string; local: string } | null;
}

/** The scheduler wired into the service (dist/main.js): schedule API to a run, over HTTP. */
describeWith(['postgres'], 'scheduling in the running service', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let service: ServiceProcess;

  const entry = async (name: string): Promise<Entry> =>
    (await api(service, 'GET', '/schedule')).body.find((e: Entry) => e.workflow_name === name);

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sim = await startSimulator({ port: 0, tenants: 5, latencyMs: 2 });
    service = new ServiceProcess(serviceEnv(db.url, sim.url, { PORT: freePort() })).start();
    await service.waitFor(`${API}/health/live`);
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await sim?.close();
    await db?.drop();
  });

  it('sets the next slot of the built-in workflows and shows it in GET /schedule', async () => {
    const daily = await eventually(async () => {
      const e = await entry('daily_operations');
      return e?.next_execution_at ? e : undefined;
    }, 15_000);
    expect(daily.cron_expression).toBe('0 8 * * *');
    expect(daily.next_run?.local).toMatch(/T08:00:00\+0[12]:00$/);
    expect(Date.parse(daily.next_execution_at!)).toBeGreaterThan(Date.now());
  });

  it('refuses an invalid schedule whole and stores nothing', async () => {
    const res = await api(service, 'PUT', '/schedule', {
      workflows: [
        { workflow: 'daily_operations', cron_expression: '0 7 * * *' },
        { workflow: 'weekly_digest', calendar: { country: 'ES', region: 'XX' } },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.details.map((d: { field: string }) => d.field)).toEqual([
      'workflows[1].calendar.region',
    ]);
    expect((await entry('daily_operations')).cron_expression).toBe('0 8 * * *');
  });

  it('answers the next runs with GET /schedule/next-run', async () => {
    const res = await api(service, 'GET', '/schedule/next-run?workflow=daily_operations&count=3');
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(1);
    expect(res.body[0].slots).toHaveLength(3);
  });

  it('a schedule changed through PUT /schedule fires its next slot within 1 s, without restart', async () => {
    const res = await api(service, 'PUT', '/schedule', {
      workflows: [
        { workflow: 'daily_operations', cron_expression: '* * * * *', overlap_policy: 'allow' },
      ],
    });
    expect(res.status).toBe(200);
    const changedAt = Date.now();
    // audited with the definitions before and after
    const audit = await eventually(async () => {
      const rows = (await api(service, 'GET', '/audit?route=schedule&method=PUT')).body.items;
      return rows?.find((r: { status_code: number }) => r.status_code === 200);
    }, 10_000);
    expect(audit).toMatchObject({
      subject: 'test-admin',
      target: 'daily_operations',
      before: [expect.objectContaining({ cron_expression: '0 8 * * *' })],
      after: [expect.objectContaining({ cron_expression: '* * * * *' })],
    });
    const run = await eventually(async () => {
      const list = await api(
        service,
        'GET',
        '/executions?workflow=daily_operations&runs_only=true',
      );
      return list.body.items.find(
        (e: { execution_type: string; scheduled_for: string }) =>
          e.execution_type === 'scheduled' && Date.parse(e.scheduled_for) > changedAt,
      );
    }, 75_000);
    expect(new Date(run.scheduled_for).getUTCSeconds()).toBe(0);
    expect(Date.parse(run.created_at) - Date.parse(run.scheduled_for)).toBeLessThan(1000);
  });
});
