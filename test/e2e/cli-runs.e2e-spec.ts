import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { serviceUrls } from 'src/config/env.schema';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const ROOT = join(__dirname, '../..');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node dist/cli.js runs | run-show | metrics:rollup` on PostgreSQL, stdout and stderr apart. */
describeWith(['postgres'], 'node dist/cli.js runs, run-show and metrics:rollup', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let runId: string;
  let failedTenant: string;

  const cli = (args: string[]): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        ['dist/cli.js', ...args],
        {
          cwd: ROOT,
          timeout: 60000,
          env: {
            PATH: process.env.PATH ?? '',
            DATABASE_URL: db.url,
            LOG_LEVEL: 'info',
            ...serviceUrls(sim.url),
          },
        },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sim = await startSimulator({ port: 0, tenants: 3, latencyMs: 2, includeInactive: false });
    failedTenant = sim.activeTenants()[0].id;
    // a first command seeds the built-in workflows, so the next update has a row to change
    expect((await cli(['run', 'daily_operations', '--dry-run'])).code).toBe(0);
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    await sql.query(
      `UPDATE orchestrator_workflows SET max_retries = 0 WHERE workflow_name = 'daily_operations'`,
    );
    await sql.end();
    sim.addFault({ service: 'notification', tenant_id: failedTenant, status: 400 });
    const run = await cli(['run', 'daily_operations', '--wait']);
    sim.clearFaults();
    // a run completes when any tenant does (the seed's semantics); the failure is the tenant's
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    runId = JSON.parse(lines[lines.length - 1]).execution_id;
  });

  afterAll(async () => {
    await sim?.close();
    await db?.drop();
  });

  it('prints the latest runs as an aligned table', async () => {
    const { code, stdout } = await cli(['runs']);
    expect(code).toBe(0);
    const [header, row, ...rest] = stdout.trimEnd().split('\n');
    expect(rest).toEqual([]);
    expect(header).toMatch(
      /^ID {2,}WORKFLOW {2,}TYPE {2,}STATUS {2,}TENANTS OK\/FAILED\/ALL {2,}CREATED {2,}DURATION$/,
    );
    expect(row.split(/ {2,}/).slice(0, 5)).toEqual([
      runId,
      'daily_operations',
      'manual',
      'completed',
      '2/1/3',
    ]);
    // aligned: every value starts under its heading
    for (const heading of ['WORKFLOW', 'STATUS', 'CREATED']) {
      const at = header.indexOf(heading);
      expect(row[at - 1]).toBe(' ');
      expect(row[at]).not.toBe(' ');
    }
  });

  it('prints the runs as JSON with --json, filtered by workflow and status', async () => {
    const all = await cli(['runs', '--json', '--workflow', 'daily_operations', '--limit', '5']);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual({
      items: [
        expect.objectContaining({
          id: runId,
          workflow_name: 'daily_operations',
          tenants_by_status: { completed: 2, failed: 1 },
        }),
      ],
    });
    const none = await cli(['runs', '--json', '--status', 'failed']);
    expect(JSON.parse(none.stdout)).toEqual({ items: [] });
    const table = await cli(['runs', '--workflow', 'weekly_digest']);
    expect(table.stdout.trimEnd().split('\n').pop()).toBe('(no runs)');
  });

  it('refuses a bad option with exit 2 and says what to fix', async () => {
    const bad = await cli(['runs', '--status', 'done']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('--status must be one of pending, running, completed');
    const missing = await cli(['run-show', '4f1c1e0e-0000-4000-8000-000000000000']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('not found');
  });

  it('shows one run with a line per tenant and step, errors and result summaries', async () => {
    const { code, stdout } = await cli(['run-show', runId]);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^id {2,}${runId}$`, 'm'));
    expect(stdout).toMatch(/^tenants {2,}.*completed 2.*failed 1/m);
    const steps = stdout.split('\n').filter((l) => /^[0-9a-f]{8}-/.test(l));
    expect(steps).toHaveLength(3 * 6);
    const failedLine = steps.find((l) => l.startsWith(failedTenant) && l.includes('send_summary'));
    expect(failedLine).toMatch(/ failed {2,}1 .*notification answered 400$/);
    expect(
      steps.some((l) => / generate_forecasts {2,}completed .*Generated \d+ forecasts/.test(l)),
    ).toBe(true);
  });

  it('shows one run as JSON with --json, steps with their result summary', async () => {
    const { code, stdout } = await cli(['run-show', runId, '--json']);
    expect(code).toBe(0);
    const run = JSON.parse(stdout);
    expect(run).toMatchObject({ id: runId, tenants_by_status: { completed: 2, failed: 1 } });
    expect(run.children).toHaveLength(3);
    const validate = run.children[0].steps.find(
      (s: { name: string }) => s.name === 'validate_forecasts',
    );
    expect(validate.result_summary.text).toMatch(/MAPE=/);
  });

  it('writes only JSON to stdout for metrics:rollup; the logs go to stderr', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const { code, stdout, stderr } = await cli(['metrics:rollup', '--from', today, '--to', today]);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { from: today, to: today, days: 1, rows: expect.any(Number) },
    ]);
    expect(stderr).toContain('rollup');
  });
});
