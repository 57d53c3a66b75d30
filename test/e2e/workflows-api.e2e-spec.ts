import request from 'supertest';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { tokenFor } from '../utils/auth';
import { OpsApp, startOpsApp } from '../utils/ops-app';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';
const ADMIN = `Bearer ${tokenFor('admin')}`;

describeWith(['postgres'], 'workflows API', () => {
  let db: TestDatabase;
  let ops: OpsApp;
  let sim: RunningSimulator;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sim = await startSimulator({ port: 0, tenants: 12 });
    ops = await startOpsApp({
      databaseUrl: db.url,
      env: {
        DELIVERY_TRACKING_IN_PROCESS: 'false',
        ENABLE_LEADER_ELECTION: 'false',
        TENANT_SERVICE_URL: sim.url,
      },
    });
  });

  afterAll(async () => {
    await ops?.close();
    await sim?.close();
    await db?.drop();
  });

  const get = (path: string) => request(ops.http).get(`${API}${path}`).set('Authorization', ADMIN);
  const put = (path: string, body: unknown) =>
    request(ops.http)
      .put(`${API}${path}`)
      .set('Authorization', ADMIN)
      .send(body as object);
  const stored = async () =>
    (
      await ops.dataSource.query(
        `SELECT steps, cron_expression, timezone, version FROM orchestrator_workflows WHERE workflow_name = 'daily_operations'`,
      )
    )[0];

  it('lists the built-in catalogue and finds a workflow by name or id', async () => {
    const list = await get('/workflows').expect(200);
    expect(list.body.map((w: { workflow_name: string }) => w.workflow_name)).toEqual([
      'alert_cleanup',
      'daily_operations',
      'weekly_digest',
      'weekly_retraining',
    ]);
    const byName = await get('/workflows/daily_operations').expect(200);
    expect(byName.body).toMatchObject({
      cron_expression: '0 8 * * *',
      timezone: 'Europe/Madrid',
      is_enabled: true,
    });
    expect(byName.body.steps.map((s: { name: string }) => s.name)).toEqual([
      'generate_forecasts',
      'calculate_production',
      'calculate_procurement',
      'project_inventory',
      'validate_forecasts',
      'send_summary',
    ]);
    await get(`/workflows/${byName.body.id}`).expect(200);
    const missing = await get('/workflows/no_such_workflow').expect(404);
    expect(missing.body).toMatchObject({
      error: 'WORKFLOW_NOT_FOUND',
      message: expect.stringContaining('no_such_workflow'),
    });
  });

  it.each([
    [{ cron_expression: '0 25 * * *' }, 'cron_expression'],
    [{ timezone: 'Europe/Atlantis' }, 'timezone'],
    [{ steps: [{ name: 'a', operation: 'forecasting.explode' }] }, 'steps[0].operation'],
    [
      { steps: [{ name: 'a', operation: 'forecasting.generate', depends_on: ['b'] }] },
      'steps[0].depends_on[0]',
    ],
    [
      {
        steps: [
          { name: 'a', operation: 'forecasting.generate', depends_on: ['b'] },
          { name: 'b', operation: 'forecasting.generate', depends_on: ['a'] },
        ],
      },
      'steps',
    ],
    [
      {
        steps: [
          { name: 'a', operation: 'forecasting.generate' },
          { name: 'a', operation: 'inventory.project' },
        ],
      },
      'steps[1].name',
    ],
    [
      { steps: [{ name: 'a', operation: 'forecasting.generate', url: 'http://evil' }] },
      'steps[0].url',
    ],
    [{ max_retries: -1 }, 'max_retries'],
    [{ cron_expression: 'H 8 * * *' }, 'cron_expression'],
    [{ calendar: { country: 'XX' } }, 'calendar.country'],
    [{ calendar: { country: 'ES', region: 'ZZ' } }, 'calendar.region'],
    [{ holiday_policy: 'sometimes' }, 'holiday_policy'],
    [{ surprise: true }, 'surprise'],
  ])('refuses %j with a 400 naming %s and stores nothing', async (body, field) => {
    const before = await stored();
    const res = await put('/workflows/daily_operations', body).expect(400);
    expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(res.body.message).toContain(field);
    expect(await stored()).toEqual(before);
  });

  it('saves a valid change, bumps the version and resets the next slot', async () => {
    const before = await stored();
    const res = await put('/workflows/daily_operations', {
      cron_expression: '30 7 * * *',
      timezone: 'Atlantic/Canary',
    }).expect(200);
    expect(res.body).toMatchObject({
      cron_expression: '30 7 * * *',
      timezone: 'Atlantic/Canary',
      version: before.version + 1,
    });
    expect(await stored()).toMatchObject({
      cron_expression: '30 7 * * *',
      timezone: 'Atlantic/Canary',
    });
  });

  it('enables and disables', async () => {
    const off = await request(ops.http)
      .post(`${API}/workflows/weekly_digest/disable`)
      .set('Authorization', ADMIN)
      .expect(200);
    expect(off.body.is_enabled).toBe(false);
    const on = await request(ops.http)
      .post(`${API}/workflows/weekly_digest/enable`)
      .set('Authorization', ADMIN)
      .expect(200);
    expect(on.body.is_enabled).toBe(true);
  });

  it('answers a dry run with the plan, in tier order, and runs nothing', async () => {
    const res = await request(ops.http)
      .post(`${API}/workflows/daily_operations/execute`)
      .set('Authorization', ADMIN)
      .send({ dry_run: true })
      .expect(202);
    const active = sim.activeTenants();
    expect(res.body).toMatchObject({
      dry_run: true,
      workflow: 'daily_operations',
      calls: active.length * 6,
      step_levels: [
        ['generate_forecasts'],
        ['calculate_production', 'validate_forecasts'],
        ['calculate_procurement'],
        ['project_inventory'],
        ['send_summary'],
      ],
    });
    const tiers = res.body.tenants.map((t: { subscription_tier: string }) => t.subscription_tier);
    const rank = { enterprise: 0, professional: 1, starter: 2, free: 3 } as Record<string, number>;
    expect(tiers.map((t: string) => rank[t])).toEqual(
      [...tiers.map((t: string) => rank[t])].sort(),
    );
    expect(sim.calls().filter((c) => c.operation !== 'tenant.list')).toEqual([]);
    const [{ n }] = await ops.dataSource.query(
      `SELECT count(*)::int AS n FROM orchestrator_executions`,
    );
    expect(n).toBe(0);
  });

  it('answers 400 naming unknown tenant ids', async () => {
    const res = await request(ops.http)
      .post(`${API}/workflows/daily_operations/execute`)
      .set('Authorization', ADMIN)
      .send({ tenant_ids: [sim.activeTenants()[0].id, '00000000-0000-4000-8000-000000000009'] })
      .expect(400);
    expect(res.body.details).toEqual([
      { field: 'tenant_ids[1]', message: 'unknown tenant 00000000-0000-4000-8000-000000000009' },
    ]);
  });

  it('answers 503 saying why when the tenant service is down, and runs nothing', async () => {
    await sim.close();
    const res = await request(ops.http)
      .post(`${API}/workflows/daily_operations/execute`)
      .set('Authorization', ADMIN)
      .send({ dry_run: true });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      error: 'EXECUTION_TENANTS_UNAVAILABLE',
      message: expect.stringContaining('tenant service'),
    });
    const [{ n }] = await ops.dataSource.query(
      `SELECT count(*)::int AS n FROM orchestrator_executions`,
    );
    expect(n).toBe(0);
  });

  it('answers 400 for a malformed execution id and 404 for an unknown one', async () => {
    const bad = await get('/executions/not-a-uuid').expect(400);
    expect(bad.body.details).toEqual([{ field: 'execution_id', message: 'must be a UUID' }]);
    await get('/executions/00000000-0000-4000-8000-000000000000').expect(404);
    const cursor = await get('/executions?cursor=garbage').expect(400);
    expect(cursor.body.details[0].field).toBe('cursor');
  });

  it('documents the engine routes in Swagger with response examples', async () => {
    const docs = await request(ops.http).get('/api/docs-json').expect(200);
    const example = (path: string, method: string, status: string) =>
      docs.body.paths[path]?.[method]?.responses?.[status]?.content?.['application/json']?.schema
        ?.example;
    expect(example('/api/v1/orchestrator/executions/{execution_id}', 'get', '200')).toMatchObject({
      workflow_name: 'daily_operations',
      children: [expect.objectContaining({ steps: expect.any(Array) })],
    });
    expect(example('/api/v1/orchestrator/executions', 'get', '200')).toHaveProperty('next_cursor');
    expect(
      example('/api/v1/orchestrator/workflows/{workflow_id}/execute', 'post', '202'),
    ).toHaveProperty('execution_id');
  });
});
