import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenFor } from '../utils/auth';
import { ServiceProcess, freePort } from '../utils/service-process';

const API = '/api/v1/orchestrator';

/** The embedded default (no key configured), as `npm start` runs it: dist/main.js. */
describe('auth in the embedded default', () => {
  let dataDir: string;
  let service: ServiceProcess;
  let token: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'orch-auth-'));
    service = new ServiceProcess({ PORT: freePort(), DATA_DIR: dataDir }).start();
    await service.waitFor(`${API}/health/ready`, 60000);
    token = /^ {2}(eyJ\S+)$/m.exec(service.output)?.[1] ?? '';
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints one generated admin token once, with a curl example', () => {
    expect(token).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(service.output.split('generated admin token').length - 1).toBe(1);
    expect(service.output).toContain(
      `curl -H "Authorization: Bearer ${token}" ${service.baseUrl}/api/v1/orchestrator/workflows`,
    );
  });

  it('accepts that token (admin) and nothing else; health and /metrics stay open', async () => {
    const auth = (t: string) => ({ Authorization: `Bearer ${t}` });
    expect((await service.get(`${API}/workflows`)).status).toBe(401);
    expect((await service.get(`${API}/workflows`, auth(token))).status).toBe(200);
    expect((await service.get(`${API}/audit`, auth(token))).status).toBe(200);
    expect((await service.get(`${API}/workflows`, auth(tokenFor('admin')))).status).toBe(401);
    expect((await service.get(`${API}/health/live`)).status).toBe(200);
    const metrics = await service.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('orchestrator_leader_instance');
    const json = await service.get(`${API}/metrics`, auth(token));
    expect(json.status).toBe(200);
    expect(json.body).toEqual(expect.objectContaining({ items: expect.any(Array) }));
  });

  it('records a change made with it in the audit trail as local-admin', async () => {
    const res = await fetch(`${service.baseUrl}${API}/workflows/weekly_digest/disable`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const audit = await service.get(`${API}/audit?target=weekly_digest`, {
      Authorization: `Bearer ${token}`,
    });
    expect(audit.body.items[0]).toEqual(
      expect.objectContaining({ subject: 'local-admin', roles: ['admin'], status_code: 200 }),
    );
  });

  it('backfills the rollup from the CLI on the same data', async () => {
    await service.stop('SIGTERM');
    const cli = new ServiceProcess({ DATA_DIR: dataDir }, 'dist/cli.js', [
      'metrics:rollup',
      '--from',
      '2026-03-01',
      '--to',
      '2026-03-03',
    ]).start();
    expect((await cli.waitForExit()).code).toBe(0);
    expect(JSON.parse(cli.output.trim().split('\n').pop()!)).toEqual({
      from: '2026-03-01',
      to: '2026-03-03',
      days: 3,
      rows: 0,
    });
  });
});
