import request from 'supertest';
import { SUBJECT_NAMESPACE, uuidV5 } from 'src/auth/principal';
import { OperationRegistry } from 'src/clients/operation-registry';
import { ExecutionsModule } from 'src/executions/executions.module';
import { TenantDirectory } from 'src/executions/ports';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { FakeDownstream, FakeTenantDirectory, makeTenants } from '../fakes/fake-downstream';
import { TestRole, tokenFor } from '../utils/auth';
import { waitUntil } from '../utils/engine-harness';
import { OpsApp, startOpsApp } from '../utils/ops-app';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';
const ADMIN_SUBJECT = 'auth0|audit-admin';
const OPERATOR_SUBJECT = 'auth0|audit-operator';

describeWith(['postgres'], 'audit trail of mutations', () => {
  let db: TestDatabase;
  let ops: OpsApp;
  const downstream = new FakeDownstream(1);
  const tenants = new FakeTenantDirectory(makeTenants(2));
  const as = (role: TestRole, sub: string) => ({
    Authorization: `Bearer ${tokenFor(role, undefined, { sub })}`,
  });
  const admin = () => as('admin', ADMIN_SUBJECT);
  const auditRows = async () =>
    Number(
      (await ops.dataSource.query(`SELECT count(*)::int AS n FROM orchestrator_audit_log`))[0].n,
    );
  const audit = async (query: Record<string, string>) => {
    const res = await request(ops.http).get(`${API}/audit`).query(query).set(admin());
    expect(res.status).toBe(200);
    return res.body as { items: Record<string, any>[]; next_cursor: string | null };
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ops = await startOpsApp({
      databaseUrl: db.url,
      imports: [WorkflowsModule, ExecutionsModule],
      override: [
        { provide: OperationRegistry, useValue: downstream },
        { provide: TenantDirectory, useValue: tenants },
      ],
    });
  });

  afterAll(async () => {
    await ops?.close();
    await db?.drop();
  });

  it('records an update with who, when, the request and the state before and after', async () => {
    const res = await request(ops.http)
      .put(`${API}/workflows/daily_operations`)
      .set(admin())
      .set('X-Request-Id', 'audit-trace-1')
      .send({ max_retries: 5, description: 'audited change' });
    expect(res.status).toBe(200);

    const { items } = await audit({ target: 'daily_operations', method: 'PUT' });
    expect(items).toHaveLength(1);
    expect(items[0]).toEqual(
      expect.objectContaining({
        subject: ADMIN_SUBJECT,
        roles: ['admin'],
        method: 'PUT',
        route: `${API}/workflows/:workflow_id`,
        path: `${API}/workflows/daily_operations`,
        target: 'daily_operations',
        status_code: 200,
        request: { max_retries: 5, description: 'audited change' },
        request_id: 'audit-trace-1',
      }),
    );
    expect(items[0].before).toEqual(expect.objectContaining({ max_retries: 3, version: 1 }));
    expect(items[0].after).toEqual(
      expect.objectContaining({ max_retries: 5, description: 'audited change', version: 2 }),
    );
    expect(Date.now() - new Date(items[0].at).getTime()).toBeLessThan(60_000);
  });

  it('records disable and enable with the flag before and after', async () => {
    expect(
      (await request(ops.http).post(`${API}/workflows/weekly_digest/disable`).set(admin())).status,
    ).toBe(200);
    expect(
      (await request(ops.http).post(`${API}/workflows/weekly_digest/enable`).set(admin())).status,
    ).toBe(200);
    const { items } = await audit({ target: 'weekly_digest' });
    expect(
      items.map((i) => [i.route.split('/').pop(), i.before.is_enabled, i.after.is_enabled]),
    ).toEqual([
      ['enable', false, true],
      ['disable', true, false],
    ]);
  });

  it('records a manual run as the token subject, with triggered_by its UUID v5', async () => {
    const res = await request(ops.http)
      .post(`${API}/workflows/daily_operations/execute`)
      .set(as('operator', OPERATOR_SUBJECT))
      .send({});
    expect(res.status).toBe(202);
    const [row] = await ops.dataSource.query(
      `SELECT triggered_by, execution_type FROM orchestrator_executions WHERE id = $1`,
      [res.body.execution_id],
    );
    expect(row).toEqual({
      triggered_by: uuidV5(SUBJECT_NAMESPACE, OPERATOR_SUBJECT),
      execution_type: 'manual',
    });
    const { items } = await audit({ subject: OPERATOR_SUBJECT });
    expect(items).toHaveLength(1);
    expect(items[0]).toEqual(
      expect.objectContaining({
        method: 'POST',
        route: `${API}/workflows/:workflow_id/execute`,
        target: 'daily_operations',
        status_code: 202,
        before: null,
        after: { execution_id: res.body.execution_id, status: 'running' },
      }),
    );
  });

  it('records a schedule change with every workflow before and after', async () => {
    const res = await request(ops.http)
      .put(`${API}/schedule`)
      .set(admin())
      .send({ workflows: [{ workflow: 'weekly_digest', cron_expression: '0 10 * * 1' }] });
    expect(res.status).toBe(200);
    const { items } = await audit({ route: '/schedule', method: 'PUT' });
    expect(items).toHaveLength(1);
    expect(items[0].before).toEqual([
      expect.objectContaining({ workflow_name: 'weekly_digest', cron_expression: '0 9 * * 1' }),
    ]);
    expect(items[0].after).toEqual([
      expect.objectContaining({ workflow_name: 'weekly_digest', cron_expression: '0 10 * * 1' }),
    ]);
  });

  it('records a retry and a backfill, so every mutating route has left a row', async () => {
    const operator = as('operator', 'auth0|retrier');
    await request(ops.http)
      .put(`${API}/workflows/weekly_digest`)
      .set(admin())
      .send({ max_retries: 0 })
      .expect(200);
    downstream.when((ctx) => (ctx.tenant.id === tenants.tenants[0].id ? 'fail' : 'ok'));
    const run = await request(ops.http)
      .post(`${API}/workflows/weekly_digest/execute`)
      .set(operator)
      .send({});
    expect(run.status).toBe(202);
    await waitUntil(async () => {
      const [row] = await ops.dataSource.query(
        `SELECT status FROM orchestrator_executions WHERE id = $1`,
        [run.body.execution_id],
      );
      // one tenant failed, the others completed: the run completes (the seed's semantics)
      return ['completed', 'failed'].includes(row.status);
    });
    downstream.reset();
    const retry = await request(ops.http)
      .post(`${API}/executions/${run.body.execution_id}/retry`)
      .set(operator);
    expect(retry.status).toBe(202);
    const yesterday = new Date(Date.now() - 86400_000).toISOString().slice(0, 10);
    const backfill = await request(ops.http)
      .post(`${API}/workflows/weekly_digest/backfill`)
      .set(operator)
      .send({ from: `${yesterday}T00:00:00Z`, to: `${yesterday}T00:30:00Z` });
    expect(backfill.status).toBeLessThan(300);

    const { items: retries } = await audit({ route: '/retry' });
    expect(retries[0]).toEqual(
      expect.objectContaining({
        subject: 'auth0|retrier',
        target: run.body.execution_id,
        status_code: 202,
        after: expect.objectContaining({ retry_of_execution_id: run.body.execution_id }),
      }),
    );
    const docs = (await request(ops.http).get('/api/docs-json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const mutating = Object.entries(docs.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => m !== 'get')
        .map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const audited = new Set(
      (await audit({ limit: '500' })).items.map((i) => `${i.method} ${i.route}`),
    );
    expect(mutating.filter((r) => !audited.has(r))).toEqual([]);
    expect(mutating.length).toBeGreaterThanOrEqual(7);
  });

  it('writes no row for refused requests (bad token, wrong role, invalid body, unknown target)', async () => {
    const before = await auditRows();
    const attempts = [
      request(ops.http).put(`${API}/workflows/daily_operations`).send({ max_retries: 1 }),
      request(ops.http)
        .put(`${API}/workflows/daily_operations`)
        .set(as('operator', 'auth0|op'))
        .send({ max_retries: 1 }),
      request(ops.http)
        .put(`${API}/workflows/daily_operations`)
        .set(admin())
        .send({ max_retries: 'many' }),
      request(ops.http)
        .put(`${API}/workflows/no_such_workflow`)
        .set(admin())
        .send({ max_retries: 1 }),
    ];
    expect((await Promise.all(attempts)).map((r) => r.status)).toEqual([401, 403, 400, 404]);
    expect(await auditRows()).toBe(before);
  });

  it('is readable by admins only', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      const res = await request(ops.http)
        .get(`${API}/audit`)
        .set(as(role, `auth0|${role}`));
      expect(res.status).toBe(403);
    }
  });

  it('pages newest first with a cursor, and filters by route and time', async () => {
    const first = await audit({ limit: '2' });
    expect(first.items).toHaveLength(2);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await audit({ limit: '2', cursor: first.next_cursor! });
    const all = await audit({ limit: '500' });
    expect([...first.items, ...second.items].map((i) => i.id)).toEqual(
      all.items.slice(0, 4).map((i) => i.id),
    );
    const ats = all.items.map((i) => i.at);
    expect([...ats].sort().reverse()).toEqual(ats);

    const enables = await audit({ route: '/enable' });
    expect(enables.items.map((i) => i.target)).toEqual(['weekly_digest']);

    const future = await audit({ from: new Date(Date.now() + 3600_000).toISOString() });
    expect(future.items).toEqual([]);
    const past = await audit({ to: new Date(Date.now() - 3600_000).toISOString() });
    expect(past.items).toEqual([]);
  });

  it('answers 400 naming the field for a bad cursor, range or limit', async () => {
    for (const query of [
      { cursor: 'not-a-cursor' },
      { limit: '0' },
      { from: 'yesterday' },
      { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' },
      { unknown: 'x' },
    ]) {
      const res = await request(ops.http).get(`${API}/audit`).query(query).set(admin());
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.body.details?.[0]?.field ?? res.body.message).toEqual(expect.any(String));
    }
  });
});
