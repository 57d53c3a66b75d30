import { generateKeyPairSync, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { OperationRegistry } from 'src/clients/operation-registry';
import { ExecutionsModule } from 'src/executions/executions.module';
import { TenantDirectory } from 'src/executions/ports';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { FakeDownstream, FakeTenantDirectory, makeTenants } from '../fakes/fake-downstream';
import { TEST_JWT_SECRET, TestRole, tokenFor } from '../utils/auth';
import { OpsApp, startOpsApp } from '../utils/ops-app';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

type Access = TestRole | 'public' | 'metrics';
const API = '/api/v1/orchestrator';

/**
 * The contract (issue 7): viewer reads; operator also executes, retries and backfills;
 * admin also updates, enables, disables, changes the schedule and reads the audit.
 * A route missing here must follow the default: GET → viewer, anything else → admin.
 */
const CONTRACT: Record<string, Access> = {
  [`GET ${API}/health`]: 'public',
  [`GET ${API}/health/live`]: 'public',
  [`GET ${API}/health/ready`]: 'public',
  'GET /metrics': 'metrics',
  [`GET ${API}/workflows`]: 'viewer',
  [`GET ${API}/workflows/{workflow_id}`]: 'viewer',
  [`PUT ${API}/workflows/{workflow_id}`]: 'admin',
  [`POST ${API}/workflows/{workflow_id}/enable`]: 'admin',
  [`POST ${API}/workflows/{workflow_id}/disable`]: 'admin',
  [`POST ${API}/workflows/{workflow_id}/execute`]: 'operator',
  [`GET ${API}/executions`]: 'viewer',
  [`GET ${API}/executions/failed`]: 'viewer',
  [`GET ${API}/executions/{execution_id}`]: 'viewer',
  [`GET ${API}/executions/{execution_id}/logs`]: 'viewer',
  [`POST ${API}/executions/{execution_id}/retry`]: 'operator',
  [`GET ${API}/schedule`]: 'viewer',
  [`GET ${API}/schedule/next-run`]: 'viewer',
  [`PUT ${API}/schedule`]: 'admin',
  [`POST ${API}/workflows/{workflow_id}/backfill`]: 'operator',
  [`GET ${API}/leader`]: 'viewer',
  [`GET ${API}/audit`]: 'admin',
  [`GET ${API}/metrics`]: 'viewer',
  [`GET ${API}/statistics`]: 'viewer',
};
/** routes that exist today whatever else is wired: the matrix cannot pass on an empty app */
const MUST_EXIST = [
  `GET ${API}/health`,
  'GET /metrics',
  `GET ${API}/workflows`,
  `PUT ${API}/workflows/{workflow_id}`,
  `POST ${API}/workflows/{workflow_id}/execute`,
  `POST ${API}/executions/{execution_id}/retry`,
  `GET ${API}/leader`,
  `GET ${API}/audit`,
];
const CALLERS: (TestRole | 'nobody' | 'no-role')[] = [
  'nobody',
  'no-role',
  'viewer',
  'operator',
  'admin',
];
const RANK = { viewer: 1, operator: 2, admin: 3 } as const;

function expectedFor(access: Access, caller: (typeof CALLERS)[number]): 'allowed' | 401 | 403 {
  if (access === 'public' || access === 'metrics') return 'allowed';
  if (caller === 'nobody') return 401;
  if (caller === 'no-role') return 403;
  return RANK[caller] >= RANK[access] ? 'allowed' : 403;
}

describeWith(['postgres'], 'auth: every route × every role', () => {
  let db: TestDatabase;
  let ops: OpsApp;
  const routes: { key: string; method: string; path: string; access: Access }[] = [];

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ops = await startOpsApp({
      databaseUrl: db.url,
      imports: [WorkflowsModule, ExecutionsModule],
      override: [
        { provide: OperationRegistry, useValue: new FakeDownstream(1) },
        { provide: TenantDirectory, useValue: new FakeTenantDirectory(makeTenants(2)) },
      ],
    });
    const docs = await request(ops.http).get('/api/docs-json');
    for (const [path, item] of Object.entries(docs.body.paths as Record<string, object>)) {
      for (const method of Object.keys(item)) {
        const key = `${method.toUpperCase()} ${path}`;
        const access = CONTRACT[key] ?? (method === 'get' ? 'viewer' : 'admin');
        routes.push({ key, method, path, access });
      }
    }
  });

  afterAll(async () => {
    await ops?.close();
    await db?.drop();
  });

  it('documents every route the contract needs', () => {
    expect(routes.map((r) => r.key)).toEqual(expect.arrayContaining(MUST_EXIST));
  });

  it('answers 401 without a token, 403 below the role, and lets the role through', async () => {
    const outcomes: string[] = [];
    const mismatches: string[] = [];
    for (const route of routes) {
      // a body the handlers refuse (unknown field): the guard's verdict without side effects
      const url = route.path
        .replace('{workflow_id}', 'daily_operations')
        .replace('{execution_id}', randomUUID());
      for (const caller of CALLERS) {
        let req = request(ops.http)[route.method as 'get'](url);
        if (caller === 'no-role') req = req.set('Authorization', `Bearer ${tokenFor(null)}`);
        else if (caller !== 'nobody') req = req.set('Authorization', `Bearer ${tokenFor(caller)}`);
        if (route.method !== 'get') req = req.send({ __matrix_probe__: true });
        const res = await req;
        const expected = expectedFor(route.access, caller);
        const ok =
          expected === 'allowed' ? ![401, 403].includes(res.status) : res.status === expected;
        outcomes.push(`${route.key} as ${caller}: ${res.status}`);
        const bodyOk =
          expected === 'allowed' ||
          (res.body.statusCode === expected &&
            res.body.error === (expected === 401 ? 'AUTH_TOKEN_MISSING' : 'AUTH_FORBIDDEN') &&
            typeof res.body.message === 'string' &&
            Object.keys(res.body).length === 3);
        if (!ok || !bodyOk) {
          mismatches.push(
            `${route.key} as ${caller}: got ${res.status} ${JSON.stringify(res.body).slice(0, 120)}, want ${expected}`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(outcomes.length).toBe(routes.length * CALLERS.length);
  });

  it('serves reads to a viewer with 200', async () => {
    for (const path of [`${API}/workflows`, `${API}/workflows/daily_operations`, `${API}/leader`]) {
      const res = await request(ops.http)
        .get(path)
        .set('Authorization', `Bearer ${tokenFor('viewer')}`);
      expect(res.status).toBe(200);
    }
  });

  it('refuses expired, forged, tampered, alg-none and wrongly-signed tokens with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const valid = tokenFor('admin');
    const [h, , s] = valid.split('.');
    const escalated = Buffer.from(
      JSON.stringify({ sub: 'test-viewer', roles: ['admin'], exp: now + 600 }),
    ).toString('base64url');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${escalated}.`;
    const cases: Record<string, [string, string]> = {
      expired: [
        tokenFor('admin', TEST_JWT_SECRET, { iat: now - 7200, exp: now - 3600 }),
        'AUTH_TOKEN_EXPIRED',
      ],
      forged: [tokenFor('admin', 'some-other-secret-some-other-secret-xx'), 'AUTH_TOKEN_INVALID'],
      tampered: [`${h}.${escalated}.${s}`, 'AUTH_TOKEN_INVALID'],
      'alg none': [none, 'AUTH_TOKEN_INVALID'],
      'RS256 from an unknown key': [
        jwt.sign({ sub: 'x', roles: ['admin'], exp: now + 600 }, privateKey, {
          algorithm: 'RS256',
        }),
        'AUTH_TOKEN_INVALID',
      ],
      garbage: ['hello', 'AUTH_TOKEN_INVALID'],
    };
    for (const [name, [token, code]] of Object.entries(cases)) {
      const res = await request(ops.http)
        .put(`${API}/workflows/daily_operations`)
        .set('Authorization', `Bearer ${token}`)
        .send({ max_retries: 9 });
      expect({ name, status: res.status, error: res.body.error }).toEqual({
        name,
        status: 401,
        error: code,
      });
      expect(JSON.stringify(res.body)).not.toContain('    at ');
    }
    const [{ max_retries }] = await ops.dataSource.query(
      `SELECT max_retries FROM orchestrator_workflows WHERE workflow_name = 'daily_operations'`,
    );
    expect(max_retries).not.toBe(9);
  });

  it('sends the bearer token from Swagger: every protected operation carries the scheme', async () => {
    const docs = (await request(ops.http).get('/api/docs-json')).body;
    expect(docs.components.securitySchemes.bearer).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    for (const route of routes.filter((r) => r.access !== 'public' && r.access !== 'metrics')) {
      expect({ route: route.key, security: docs.paths[route.path][route.method].security }).toEqual(
        { route: route.key, security: [{ bearer: [] }] },
      );
    }
  });
});
