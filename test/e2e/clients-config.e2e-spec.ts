import { serviceUrls } from 'src/config/env.schema';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunningSimulator, startSimulator } from 'tools/simulator';
import { ServiceProcess, freePort } from '../utils/service-process';

/** Downstream configuration as the built service sees it at start. */
describe('downstream service configuration (dist/main.js)', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'orch-clients-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses to start on a malformed service URL, naming the variable', async () => {
    const bad = new ServiceProcess({
      PORT: freePort(),
      DATA_DIR: dataDir,
      FORECASTING_SERVICE_URL: 'nonsense',
      PROCUREMENT_SERVICE_URL: 'ftp://procurement:21',
    }).start();
    const result = await bad.waitForExit();
    expect(result.code).toBe(1);
    expect(bad.output).toContain(
      'FORECASTING_SERVICE_URL="nonsense" is not valid; expected an http(s) URL',
    );
    expect(bad.output).toContain('PROCUREMENT_SERVICE_URL="ftp://procurement:21" is not valid');
  });

  it('refuses to start in production when a service URL is missing, naming it', async () => {
    const urls = {
      TENANT_SERVICE_URL: 'http://tenant:8000',
      FORECASTING_SERVICE_URL: 'http://forecasting:8000',
      PRODUCTION_SERVICE_URL: 'http://production:8000',
      PROCUREMENT_SERVICE_URL: 'http://procurement:8000',
      INVENTORY_SERVICE_URL: 'http://inventory:8000',
      NOTIFICATION_SERVICE_URL: 'http://notification:8000',
      TRAINING_SERVICE_URL: 'http://training:8000',
    };
    const bad = new ServiceProcess({
      PORT: freePort(),
      DATA_DIR: dataDir,
      NODE_ENV: 'production',
      ...urls,
    }).start();
    expect((await bad.waitForExit()).code).toBe(1);
    expect(bad.output).toContain('ALERT_PROCESSOR_SERVICE_URL is not set');
  });

  describe('with the simulator as every downstream service', () => {
    let sim: RunningSimulator;
    let service: ServiceProcess;

    beforeAll(async () => {
      sim = await startSimulator({ tenants: 10 });
      const urls = serviceUrls(sim.url);
      service = new ServiceProcess({ PORT: freePort(), DATA_DIR: dataDir, ...urls }).start();
      await service.waitFor('/api/v1/orchestrator/health/live');
    });
    afterAll(async () => {
      await service?.stop('SIGKILL');
      await sim?.close();
    });

    it('starts and exposes a closed breaker per downstream service', async () => {
      const metrics = await service.get('/metrics');
      expect(metrics.status).toBe(200);
      for (const name of [
        'tenant',
        'forecasting',
        'production',
        'procurement',
        'inventory',
        'notification',
        'training',
        'alert_processor',
      ]) {
        expect(metrics.body).toContain(
          `orchestrator_downstream_circuit_state{service="${name}"} 0`,
        );
      }
    });
  });
});
