import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, freePort } from '../utils/service-process';
import { SERVICES, describeWith } from '../utils/services';
import { TcpProxy } from '../utils/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

describeWith(
  ['postgres', 'redis', 'rabbitmq'],
  'health, readiness and shutdown on PostgreSQL',
  () => {
    let db: TestDatabase;
    let proxy: TcpProxy;
    let service: ServiceProcess;

    beforeAll(async () => {
      db = await createTestDatabase({ migrated: false });
      proxy = new TcpProxy(SERVICES.postgres.host, SERVICES.postgres.port);
      await proxy.start();
      const url = new URL(db.url);
      url.port = String(proxy.port);
      service = new ServiceProcess({
        PORT: freePort(),
        DATABASE_URL: url.toString(),
        REDIS_URL: SERVICES.redis.url,
        RABBITMQ_URL: SERVICES.rabbitmq.url,
      }).start();
      await service.waitFor('/api/v1/orchestrator/health/ready');
    });

    afterAll(async () => {
      await service?.stop('SIGKILL');
      await proxy?.cut();
      await db?.drop();
    });

    it('reports every dependency up', async () => {
      const { status, body } = await service.get('/api/v1/orchestrator/health');
      expect(status).toBe(200);
      expect(body.details).toEqual({
        database: { status: 'up', kind: 'postgresql' },
        redis: { status: 'up', configured: true },
        rabbitmq: { status: 'up', configured: true },
      });
    });

    it('serves Swagger UI, its JSON and Prometheus metrics', async () => {
      expect((await service.get('/api/docs')).status).toBe(200);
      const docs = await service.get('/api/docs-json');
      expect(Object.keys(docs.body.paths)).toContain('/api/v1/orchestrator/health/ready');
      const metrics = await service.get('/metrics');
      expect(metrics.body).toContain('process_cpu_user_seconds_total');
    });

    it('echoes the caller request id', async () => {
      const res = await fetch(`${service.baseUrl}/api/v1/orchestrator/health/live`, {
        headers: { 'X-Request-Id': 'trace-123' },
      });
      expect(res.headers.get('x-request-id')).toBe('trace-123');
    });

    it('goes not-ready with the reason when the database is unreachable, while live stays 200', async () => {
      await proxy.cut();
      const ready = await service.get('/api/v1/orchestrator/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error.database).toEqual(
        expect.objectContaining({
          status: 'down',
          reason: expect.stringContaining('database unreachable'),
        }),
      );
      expect((await service.get('/api/v1/orchestrator/health/live')).status).toBe(200);

      await proxy.restore();
      await service.waitFor('/api/v1/orchestrator/health/ready', 15000);
    });

    it('exits 0 promptly on SIGTERM', async () => {
      const result = await service.stop('SIGTERM');
      expect(result).toEqual(expect.objectContaining({ code: 0, signal: null }));
      expect(result.ms).toBeLessThan(10000);
    });
  },
);

describe('embedded default (no servers configured)', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'orch-embedded-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves health on PGlite and keeps its data in DATA_DIR across restarts', async () => {
    const env = { PORT: freePort(), DATA_DIR: dataDir };
    const first = new ServiceProcess(env).start();
    await first.waitFor('/api/v1/orchestrator/health');
    const health = await first.get('/api/v1/orchestrator/health');
    expect(health.body.details.database).toEqual({ status: 'up', kind: 'pglite' });
    expect(await first.stop()).toEqual(expect.objectContaining({ code: 0 }));

    // the second start finds the schema already there: nothing left to apply
    const migrate = new ServiceProcess({ DATA_DIR: dataDir }, 'dist/cli.js', ['migrate']).start();
    expect((await migrate.waitForExit()).code).toBe(0);
    expect(JSON.parse(migrate.output.trim().split('\n').pop()!)).toEqual(
      expect.objectContaining({ applied: [] }),
    );
  });

  it('refuses to start on bad configuration, naming each variable', async () => {
    const bad = new ServiceProcess({
      PORT: 'eighty',
      DEFAULT_TIMEZONE: 'Mars/Olympus',
      LEADER_HEARTBEAT_SECONDS: '100',
    }).start();
    const result = await bad.waitForExit();
    expect(result.code).toBe(1);
    expect(bad.output).toContain('PORT="eighty" is not valid');
    expect(bad.output).toContain(
      'DEFAULT_TIMEZONE="Mars/Olympus" is not valid; expected an IANA timezone',
    );
    expect(bad.output).toContain(
      'LEADER_HEARTBEAT_SECONDS=100 must be below LEADER_LOCK_TTL_SECONDS=90',
    );
  });
});
