import { serviceUrls } from 'src/config/env.schema';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { ServiceProcess } from '../utils/service-process';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

describeWith(['postgres'], 'node dist/cli.js run', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let dataDir: string;
  const env = () => ({
    DATABASE_URL: db.url,
    ...serviceUrls(sim.url),
  });
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    const p = new ServiceProcess({ ...env(), ...extra }, 'dist/cli.js', ['run', ...args]).start();
    const { code } = await p.waitForExit();
    const lines = p.output.trim().split('\n');
    return { code, output: p.output, last: lines[lines.length - 1] };
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sim = await startSimulator({ port: 0, tenants: 20, latencyMs: 2 });
    dataDir = mkdtempSync(join(tmpdir(), 'orch-cli-'));
  });

  afterAll(async () => {
    await sim?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a workflow to the end with --wait and prints its summary', async () => {
    const { code, last } = await cli(['daily_operations', '--wait']);
    expect(code).toBe(0);
    expect(JSON.parse(last)).toMatchObject({
      status: 'completed',
      tenants_processed: sim.activeTenants().length,
      tenants_succeeded: sim.activeTenants().length,
      steps_completed: sim.activeTenants().length * 6,
    });
  });

  it('runs only the named tenants', async () => {
    const ids = sim
      .activeTenants()
      .slice(0, 2)
      .map((t) => t.id);
    const { code, last } = await cli(['weekly_digest', '--tenants', ids.join(','), '--wait']);
    expect(code).toBe(0);
    expect(JSON.parse(last)).toMatchObject({ status: 'completed', tenants_processed: 2 });
  });

  it('exits 1 when the run fails', async () => {
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    // no automatic retries, so the failure is final at once
    await sql.query(
      `UPDATE orchestrator_workflows SET max_retries = 0 WHERE workflow_name = 'weekly_digest'`,
    );
    await sql.end();
    sim.addFault({ service: 'notification', status: 400 });
    const { code, last } = await cli(['weekly_digest', '--wait', '--allow-concurrent']);
    sim.clearFaults();
    expect(code).toBe(1);
    expect(JSON.parse(last)).toMatchObject({
      status: 'failed',
      tenants_failed: sim.activeTenants().length,
    });
  });

  it('runs on the embedded database with nothing but DATA_DIR', async () => {
    const { code, last } = await cli(['alert_cleanup', '--wait'], {
      DATABASE_URL: '',
      DATA_DIR: dataDir,
    });
    expect(code).toBe(0);
    expect(JSON.parse(last)).toMatchObject({
      status: 'completed',
      tenants_processed: sim.activeTenants().length,
    });
  });

  it('runs on the embedded database a run whose tenants are inserted in batches', async () => {
    // 3 tenants commit with the run, the others are staged and inserted 3 at a time
    const { code, last } = await cli(['daily_operations', '--wait'], {
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      RUN_CREATE_BATCH_SIZE: '3',
    });
    expect(code).toBe(0);
    const active = sim.activeTenants().length;
    expect(active).toBeGreaterThan(3);
    expect(JSON.parse(last)).toMatchObject({
      status: 'completed',
      tenants_processed: active,
      tenants_succeeded: active,
      steps_completed: active * 6,
    });
  });

  it.each([
    [['no_such_workflow'], 'Workflow "no_such_workflow" not found'],
    [[], 'name the workflow to run'],
    [['daily_operations', '--frobnicate'], 'unknown option "--frobnicate"'],
    [['daily_operations', '--tenants', 'not-a-tenant'], 'tenant_ids[0]'],
  ])('refuses %j with exit 2 and says what to fix', async (args, message) => {
    const { code, output } = await cli(args);
    expect(code).toBe(2);
    expect(output).toContain(message);
  });
});
