import { serviceUrls } from 'src/config/env.schema';
import { register } from 'prom-client';
import request from 'supertest';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { tokenFor } from '../utils/auth';
import { OpsApp, startOpsApp } from '../utils/ops-app';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';
const PRODUCTION_URLS = serviceUrls('http://127.0.0.1:9');

describeWith(['postgres'], 'HTTP hardening', () => {
  let db: TestDatabase;
  let ops: OpsApp;
  const admin = (sub = 'auth0|hardening') => ({
    Authorization: `Bearer ${tokenFor('admin', undefined, { sub })}`,
  });

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ops = await startOpsApp({
      databaseUrl: db.url,
      env: { RATE_LIMIT_MUTATIONS_PER_MINUTE: '3', HTTP_BODY_LIMIT_KB: '100' },
      imports: [WorkflowsModule],
    });
  });

  afterAll(async () => {
    await ops?.close();
    await db?.drop();
  });

  it('sends security headers and hides the framework', async () => {
    const res = await request(ops.http).get(`${API}/health/live`);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('refuses a body over the limit with 413 and a JSON error, before any handler', async () => {
    const res = await request(ops.http)
      .put(`${API}/workflows/daily_operations`)
      .set(admin('auth0|big-body'))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ description: 'x'.repeat(101 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({
      statusCode: 413,
      error: 'REQUEST_TOO_LARGE',
      message: expect.stringContaining('HTTP_BODY_LIMIT_KB'),
    });
    expect(JSON.stringify(res.body)).not.toContain('    at ');
    const [{ description }] = await ops.dataSource.query(
      `SELECT description FROM orchestrator_workflows WHERE workflow_name = 'daily_operations'`,
    );
    expect(description?.length ?? 0).toBeLessThan(1000);
  });

  it('answers 400 to malformed JSON', async () => {
    const res = await request(ops.http)
      .put(`${API}/workflows/daily_operations`)
      .set(admin('auth0|bad-json'))
      .set('Content-Type', 'application/json')
      .send('{"max_retries": ');
    expect(res.status).toBe(400);
    expect(res.body.statusCode).toBe(400);
    expect(JSON.stringify(res.body)).not.toContain('    at ');
  });

  it('limits mutations per caller with 429, never reads, never other callers', async () => {
    const caller = admin('auth0|busy-admin');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await request(ops.http).post(`${API}/workflows/weekly_digest/enable`).set(caller)).status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await request(ops.http)
      .post(`${API}/workflows/weekly_digest/enable`)
      .set(caller);
    expect(refused.body).toEqual({
      statusCode: 429,
      error: 'AUTH_RATE_LIMITED',
      message: expect.stringContaining('more than 3 changes'),
    });
    for (let i = 0; i < 6; i++) {
      expect((await request(ops.http).get(`${API}/workflows`).set(caller)).status).toBe(200);
    }
    const other = await request(ops.http)
      .post(`${API}/workflows/weekly_digest/enable`)
      .set(admin('auth0|calm-admin'));
    expect(other.status).toBe(200);
  });

  it('serves Swagger outside production', async () => {
    expect((await request(ops.http).get('/api/docs-json')).status).toBe(200);
  });
});

describeWith(['postgres'], 'Swagger in production', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(() => db?.drop());

  it('is off unless SWAGGER_ENABLED=true', async () => {
    for (const [flag, expected] of [
      [undefined, 404],
      ['true', 200],
    ] as const) {
      register.clear(); // one process, several apps: the default metrics register once each
      const ops = await startOpsApp({
        databaseUrl: db.url,
        env: {
          NODE_ENV: 'production',
          ...PRODUCTION_URLS,
          ...(flag ? { SWAGGER_ENABLED: flag } : {}),
        },
      });
      try {
        expect({ flag, status: (await request(ops.http).get('/api/docs-json')).status }).toEqual({
          flag,
          status: expected,
        });
        expect((await request(ops.http).get('/api/docs')).status).toBe(expected);
      } finally {
        await ops.close();
      }
    }
  });
});
