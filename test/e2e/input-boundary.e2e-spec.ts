import { mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { register } from 'prom-client';
import request from 'supertest';
import { serviceUrls } from 'src/config/env.schema';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { authEnv, tokenFor } from '../utils/auth';
import { OpsApp, floodEnv, startOpsApp } from '../utils/ops-app';
import { freePort, ServiceProcess } from '../utils/service-process';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';
const ADMIN = `Bearer ${tokenFor('admin', undefined, { sub: 'boundary-admin' })}`;

describeWith(['postgres'], 'input boundary on PostgreSQL', () => {
  let db: TestDatabase;
  let ops: OpsApp;
  let sim: RunningSimulator;
  let ids: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sim = await startSimulator({ port: 0, tenants: 4 });
    ops = await startOpsApp({
      databaseUrl: db.url,
      env: floodEnv(sim.url),
    });
    const rows: { id: string; workflow_name: string }[] = await ops.dataSource.query(
      `SELECT id, workflow_name FROM orchestrator_workflows`,
    );
    ids = Object.fromEntries(rows.map((r) => [r.workflow_name, r.id]));
  });

  afterAll(async () => {
    await ops?.close();
    await sim?.close();
    await db?.drop();
  });

  const http = () => request(ops.http);
  const executions = async () =>
    (await ops.dataSource.query(`SELECT count(*)::int AS n FROM orchestrator_executions`))[0]
      .n as number;

  describe('a workflow addressed by UUID or by name', () => {
    // weekly_retraining: a workflow no other test here runs or edits
    const NAME = 'weekly_retraining';
    const both = () => [ids[NAME], NAME, ids[NAME].toUpperCase()];

    it('GET /workflows/{id}', async () => {
      for (const key of both()) {
        const res = await http().get(`${API}/workflows/${key}`).set('Authorization', ADMIN);
        expect({ key, status: res.status, id: res.body.id }).toEqual({
          key,
          status: 200,
          id: ids[NAME],
        });
      }
    });

    it('PUT /workflows/{id}', async () => {
      for (const [i, key] of both().entries()) {
        const res = await http()
          .put(`${API}/workflows/${key}`)
          .set('Authorization', ADMIN)
          .send({ description: `edited through ${i}` });
        expect({ key, status: res.status }).toEqual({ key, status: 200 });
        expect(res.body.description).toBe(`edited through ${i}`);
      }
    });

    it('POST /workflows/{id}/disable and /enable', async () => {
      for (const key of both()) {
        for (const [action, enabled] of [
          ['disable', false],
          ['enable', true],
        ] as const) {
          const res = await http()
            .post(`${API}/workflows/${key}/${action}`)
            .set('Authorization', ADMIN);
          expect({ key, action, status: res.status, enabled: res.body.is_enabled }).toEqual({
            key,
            action,
            status: 200,
            enabled,
          });
        }
      }
    });

    it('POST /workflows/{id}/execute with dry_run', async () => {
      const before = await executions();
      for (const key of both()) {
        const res = await http()
          .post(`${API}/workflows/${key}/execute`)
          .set('Authorization', ADMIN)
          .send({ dry_run: true });
        expect({ key, status: res.status, dry: res.body.dry_run }).toEqual({
          key,
          status: 202,
          dry: true,
        });
      }
      expect(await executions()).toBe(before);
    });

    it('POST /workflows/{id}/backfill', async () => {
      // a range without slots: the lookup is what is under test, not the runs
      for (const key of both()) {
        const res = await http()
          .post(`${API}/workflows/${key}/backfill`)
          .set('Authorization', ADMIN)
          .send({ from: '2026-01-06T00:00:00Z', to: '2026-01-06T00:00:01Z' });
        expect({ key, status: res.status, id: res.body.workflow_id }).toEqual({
          key,
          status: 201,
          id: ids[NAME],
        });
      }
    });

    it('PUT /schedule {workflow} and GET /schedule/next-run?workflow', async () => {
      for (const key of both()) {
        const put = await http()
          .put(`${API}/schedule`)
          .set('Authorization', ADMIN)
          .send({ workflows: [{ workflow: key, weekend_policy: 'run' }] });
        expect({ key, status: put.status, id: put.body[0]?.workflow_id }).toEqual({
          key,
          status: 200,
          id: ids[NAME],
        });
        const next = await http()
          .get(`${API}/schedule/next-run?workflow=${key}&count=2`)
          .set('Authorization', ADMIN);
        expect({ key, status: next.status, id: next.body[0]?.workflow_id }).toEqual({
          key,
          status: 200,
          id: ids[NAME],
        });
      }
    });

    it('GET /metrics?workflow (the rollups carry the name)', async () => {
      await ops.dataSource.query(
        `INSERT INTO orchestrator_metrics (metric_date, workflow_name, total_executions)
         VALUES ('2026-03-01', $1, 3)`,
        [NAME],
      );
      for (const key of both()) {
        const res = await http()
          .get(`${API}/metrics?from=2026-03-01&to=2026-03-02&workflow=${key}`)
          .set('Authorization', ADMIN);
        expect({ key, status: res.status, rows: res.body.items?.length }).toEqual({
          key,
          status: 200,
          rows: 1,
        });
      }
      const unknown = await http()
        .get(`${API}/metrics?workflow=00000000-0000-4000-8000-000000000000`)
        .set('Authorization', ADMIN);
      expect(unknown.status).toBe(404);
    });

    it('GET /executions?workflow', async () => {
      for (const key of both()) {
        const res = await http()
          .get(`${API}/executions?workflow=${key}`)
          .set('Authorization', ADMIN);
        expect({ key, status: res.status }).toEqual({ key, status: 200 });
      }
    });

    it('answers 404 for an unknown UUID and an unknown name alike', async () => {
      for (const key of ['00000000-0000-4000-8000-000000000000', 'no_such_workflow']) {
        const res = await http().post(`${API}/workflows/${key}/enable`).set('Authorization', ADMIN);
        expect({ key, status: res.status }).toEqual({ key, status: 404 });
      }
    });
  });

  describe('content types', () => {
    it.each([
      ['text/plain', '{"dry_run":true}'],
      ['application/xml', '<dry_run>true</dry_run>'],
      ['application/x-www-form-urlencoded', 'dry_run=true'],
      [
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="dry_run"\r\n\r\ntrue\r\n--x--',
      ],
      ['', '{"dry_run":true}'],
    ])('refuses a %s body with 415 and starts nothing', async (type, body) => {
      const before = await executions();
      let req = http()
        .post(`${API}/workflows/daily_operations/execute`)
        .set('Authorization', ADMIN);
      if (type) req = req.set('Content-Type', type);
      else req = req.unset('Content-Type');
      const res = await req.send(Buffer.from(body));
      expect(res.status).toBe(415);
      expect(res.body).toEqual({
        statusCode: 415,
        error: 'REQUEST_UNSUPPORTED_MEDIA_TYPE',
        message: expect.stringContaining('application/json'),
      });
      expect(await executions()).toBe(before);
    });

    it('refuses JSON in a charset other than UTF-8 with 415', async () => {
      const res = await http()
        .put(`${API}/workflows/weekly_digest`)
        .set('Authorization', ADMIN)
        .set('Content-Type', 'application/json; charset=latin1')
        .send('{"description":"x"}');
      expect(res.status).toBe(415);
      expect(res.body.message).toContain('UTF-8');
    });

    it('accepts a request without a body and without a content type', async () => {
      const res = await http()
        .post(`${API}/workflows/weekly_digest/enable`)
        .set('Authorization', ADMIN);
      expect(res.status).toBe(200);
    });

    it('accepts application/json; charset=utf-8', async () => {
      const res = await http()
        .put(`${API}/workflows/weekly_digest`)
        .set('Authorization', ADMIN)
        .set('Content-Type', 'application/json; charset=UTF-8')
        .send('{"description":"utf-8 ✓"}');
      expect(res.status).toBe(200);
      expect(res.body.description).toBe('utf-8 ✓');
    });
  });

  describe('bodies that cannot be decoded', () => {
    // fetch, not supertest: superagent would re-encode a Buffer sent as JSON
    const put = async (body: Buffer | string, headers: Record<string, string> = {}) => {
      const server = ops.http.listening ? ops.http : await ops.app.listen(0, '127.0.0.1');
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}${API}/workflows/weekly_digest`, {
        method: 'PUT',
        headers: { Authorization: ADMIN, 'Content-Type': 'application/json', ...headers },
        body,
      });
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text) };
    };

    it('answers 400 to a gzip body that is not gzip', async () => {
      const res = await put('{"description":"x"}', { 'Content-Encoding': 'gzip' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'REQUEST_INVALID' });
    });

    it('reads a real gzip body', async () => {
      const res = await put(gzipSync('{"description":"zipped"}'), { 'Content-Encoding': 'gzip' });
      expect(res.status).toBe(200);
      expect(res.body.description).toBe('zipped');
    });

    it('answers 415 to an unknown content encoding', async () => {
      const res = await put('{"description":"x"}', { 'Content-Encoding': 'snappy' });
      expect(res.status).toBe(415);
    });

    it('answers 400 to bytes that are not UTF-8', async () => {
      const res = await put(Buffer.from([0x7b, 0x22, 0x64, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]));
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([{ field: 'body', message: 'is not valid UTF-8' }]);
    });

    it('answers 400 to JSON nested 2,000 deep, objects or arrays, in milliseconds', async () => {
      for (const body of [
        '{"description":'.repeat(2000) + '1' + '}'.repeat(2000),
        `{"steps":${'['.repeat(2000)}${']'.repeat(2000)}}`,
      ]) {
        const started = Date.now();
        const res = await put(body);
        expect(res.status).toBe(400);
        expect(res.body.details[0].message).toContain('deeper than 32 levels');
        expect(Date.now() - started).toBeLessThan(1000);
      }
    });

    it('answers 413 to a body over HTTP_BODY_LIMIT_KB, even gzipped small', async () => {
      const huge = JSON.stringify({ description: 'x'.repeat(200 * 1024) });
      expect((await put(huge)).status).toBe(413);
      expect((await put(gzipSync(huge), { 'Content-Encoding': 'gzip' })).status).toBe(413);
    });
  });

  describe('prototype keys and control characters', () => {
    it.each([
      ['{"__proto__":{"is_enabled":false}}', '__proto__'],
      ['{"constructor":{"prototype":{"x":1}}}', 'constructor'],
      ['{"description":"x","prototype":1}', 'prototype'],
      [
        '{"steps":[{"name":"a","operation":"forecasting.generate","params":{"__proto__":{"polluted":true}}}]}',
        'steps[0].params.__proto__',
      ],
    ])('refuses %s with 400 naming %s', async (body, field) => {
      const res = await http()
        .put(`${API}/workflows/weekly_digest`)
        .set('Authorization', ADMIN)
        .set('Content-Type', 'application/json')
        .send(body);
      expect(res.status).toBe(400);
      expect(res.body.details).toContainEqual({
        field,
        message: expect.stringContaining('not an accepted key'),
      });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('refuses a NUL in a path parameter with 400 naming it', async () => {
      for (const path of ['/workflows/%00', '/workflows/daily%00/enable', '/executions/%00']) {
        const method = path.endsWith('enable') ? 'post' : 'get';
        const res = await http()[method](`${API}${path}`).set('Authorization', ADMIN);
        expect({ path, status: res.status, field: res.body.details?.[0]?.field }).toEqual({
          path,
          status: 400,
          field: path.startsWith('/executions') ? 'execution_id' : 'workflow_id',
        });
      }
    });

    it('refuses control characters in query parameters with 400 naming them', async () => {
      for (const [path, field] of [
        ['/executions?workflow=%00', 'workflow'],
        ['/schedule/next-run?workflow=daily%1Boperations', 'workflow'],
        ['/metrics?from=2026-01-01%0A', 'from'],
        ['/audit?subject=%7F', 'subject'],
      ]) {
        const res = await http().get(`${API}${path}`).set('Authorization', ADMIN);
        expect({ path, status: res.status, field: res.body.details?.[0]?.field }).toEqual({
          path,
          status: 400,
          field,
        });
      }
    });

    it('refuses a prototype key in a query string', async () => {
      const res = await http()
        .get(`${API}/executions?__proto__[status]=failed`)
        .set('Authorization', ADMIN);
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('__proto__');
    });

    it('refuses a malformed percent-encoding with a JSON 400', async () => {
      const res = await http().get(`${API}/workflows/%E0%A4%A`).set('Authorization', ADMIN);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'REQUEST_INVALID', details: [{ field: 'path' }] });
    });

    it('refuses a NUL in a body string naming the field, but keeps line breaks', async () => {
      const bad = await http()
        .put(`${API}/workflows/weekly_digest`)
        .set('Authorization', ADMIN)
        .send({ description: 'a\u0000b' });
      expect(bad.status).toBe(400);
      expect(bad.body.details).toEqual([
        {
          field: 'description',
          message: 'must not contain control characters (U+0000 at position 1)',
        },
      ]);
      const ok = await http()
        .put(`${API}/workflows/weekly_digest`)
        .set('Authorization', ADMIN)
        .send({ description: 'line 1\nline 2\ttabbed' });
      expect(ok.status).toBe(200);
    });
  });

  describe('work bounded by the request', () => {
    it('refuses a huge metrics range with 400 before expanding it', async () => {
      const started = Date.now();
      const res = await http()
        .get(`${API}/metrics?from=1000-01-01&to=9999-12-31`)
        .set('Authorization', ADMIN);
      const ms = Date.now() - started;
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([{ field: 'to', message: 'at most 366 days from from' }]);
      expect(ms).toBeLessThan(500);
    });

    it('refuses a huge backfill range and a huge next-run count with 400', async () => {
      const started = Date.now();
      const backfill = await http()
        .post(`${API}/workflows/daily_operations/backfill`)
        .set('Authorization', ADMIN)
        .send({ from: '1000-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' });
      expect(backfill.status).toBe(400);
      expect(backfill.body.details).toEqual([
        { field: 'from', message: expect.stringContaining('at most 1000 slots per call') },
      ]);
      expect(Date.now() - started).toBeLessThan(500);
      const next = await http()
        .get(`${API}/schedule/next-run?count=100000`)
        .set('Authorization', ADMIN);
      expect(next.status).toBe(400);
    });
  });
});

describeWith(['postgres'], 'rate limit and metrics access', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(() => db?.drop());

  const withApp = async (env: Record<string, string>, fn: (ops: OpsApp) => Promise<void>) => {
    register.clear(); // one process, several apps: the default metrics register once each
    const ops = await startOpsApp({
      databaseUrl: db.url,
      env: { DELIVERY_TRACKING_IN_PROCESS: 'false', ENABLE_LEADER_ELECTION: 'false', ...env },
    });
    try {
      await fn(ops);
    } finally {
      await ops.close();
    }
  };

  it('answers the 429 with Retry-After in seconds', async () => {
    await withApp({ RATE_LIMIT_MUTATIONS_PER_MINUTE: '2' }, async (ops) => {
      const statuses: number[] = [];
      let last: request.Response | undefined;
      for (let i = 0; i < 3; i++) {
        last = await request(ops.http)
          .post(`${API}/workflows/weekly_digest/enable`)
          .set('Authorization', ADMIN);
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 429]);
      const seconds = Number(last!.headers['retry-after']);
      expect(Number.isInteger(seconds)).toBe(true);
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(60);
    });
  });

  it('requires a viewer token for /metrics in production unless METRICS_REQUIRE_AUTH=false', async () => {
    const production = { NODE_ENV: 'production', ...serviceUrls('http://127.0.0.1:9') };
    const viewer = `Bearer ${tokenFor('viewer')}`;
    const cases: { env: Record<string, string>; token?: string; status: number }[] = [
      { env: production, token: undefined, status: 401 },
      { env: production, token: viewer, status: 200 },
      { env: { ...production, METRICS_REQUIRE_AUTH: 'false' }, token: undefined, status: 200 },
      { env: {}, token: undefined, status: 200 },
      { env: { METRICS_REQUIRE_AUTH: 'true' }, token: undefined, status: 401 },
    ];
    for (const c of cases) {
      await withApp(c.env, async (ops) => {
        let req = request(ops.http).get('/metrics');
        if (c.token) req = req.set('Authorization', c.token);
        const res = await req;
        expect({ ...c, status: res.status }).toEqual(c);
      });
    }
  });
});

describeWith(['postgres'], 'credentials in the logs of the running service', () => {
  let db: TestDatabase;
  let service: ServiceProcess;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    service = new ServiceProcess({
      PORT: freePort(),
      DATABASE_URL: db.url,
      LOG_LEVEL: 'info',
      DELIVERY_TRACKING_IN_PROCESS: 'false',
      ...authEnv(),
    }).start();
    await service.waitFor('/api/v1/orchestrator/health/live');
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await db?.drop();
  });

  it('never writes a query-string token or the Authorization header', async () => {
    const admin = tokenFor('admin', undefined, { sub: 'log-reader' });
    const secrets = ['qs-secret-one', 'qs-secret-two', 'qs-secret-three', 'header-secret-four'];
    const calls: [string, Record<string, string>][] = [
      [`${API}/workflows?access_token=${secrets[0]}`, { Authorization: `Bearer ${admin}` }],
      [
        `${API}/workflows/daily_operations?Token=${secrets[1]}&x=1`,
        { Authorization: `Bearer ${admin}` },
      ],
      [`/metrics?access_token=${secrets[2]}`, {}],
      [`${API}/workflows`, { Authorization: `Bearer ${secrets[3]}` }],
      [`${API}/workflows`, { Authorization: `Bearer ${admin}` }],
    ];
    const statuses: number[] = [];
    for (const [path, headers] of calls) {
      statuses.push((await service.get(path, headers)).status);
    }
    expect(statuses).toEqual([400, 400, 400, 401, 200]);
    // pino writes asynchronously: wait for the line of the last request
    const deadline = Date.now() + 5000;
    while (
      Date.now() < deadline &&
      (service.output.match(/request (completed|errored)/g) ?? []).length < 4
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(service.output).toContain('access_token=[Redacted]');
    expect(service.output).toContain('Token=[Redacted]&x=1');
    for (const secret of [...secrets, admin]) {
      expect({ secret, logged: service.output.includes(secret) }).toEqual({
        secret,
        logged: false,
      });
    }
  });
});

describe('a workflow addressed by UUID or by name on the embedded PGlite', () => {
  let dataDir: string;
  let ops: OpsApp;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'orch-boundary-'));
    register.clear();
    ops = await startOpsApp({
      databaseUrl: '',
      env: {
        DATA_DIR: dataDir,
        RUN_MIGRATIONS: 'true',
        DELIVERY_TRACKING_IN_PROCESS: 'false',
        ENABLE_LEADER_ELECTION: 'false',
        RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
      },
    });
  });

  afterAll(async () => {
    await ops?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads, updates, disables and enables by id, upper-case id and name', async () => {
    const [{ id }] = await ops.dataSource.query(
      `SELECT id FROM orchestrator_workflows WHERE workflow_name = 'weekly_digest'`,
    );
    for (const key of [id, id.toUpperCase(), 'weekly_digest']) {
      const statuses = [
        (await request(ops.http).get(`${API}/workflows/${key}`).set('Authorization', ADMIN)).status,
        (
          await request(ops.http)
            .put(`${API}/workflows/${key}`)
            .set('Authorization', ADMIN)
            .send({ description: `by ${key}` })
        ).status,
        (
          await request(ops.http)
            .post(`${API}/workflows/${key}/disable`)
            .set('Authorization', ADMIN)
        ).status,
        (await request(ops.http).post(`${API}/workflows/${key}/enable`).set('Authorization', ADMIN))
          .status,
      ];
      expect({ key, statuses }).toEqual({ key, statuses: [200, 200, 200, 200] });
    }
  });
});
