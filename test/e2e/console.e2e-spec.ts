import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { serviceUrls } from 'src/config/env.schema';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { authEnv, TestRole, tokenFor } from '../utils/auth';
import { freePort, ServiceProcess } from '../utils/service-process';

const API = '/api/v1/orchestrator';
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '../artifacts');
const WIDTHS = [1280, 390] as const;
/** the step made to fail for one tenant, and the operation behind it */
const FAILING = { step: 'send_summary', service: 'notification' };

/**
 * The operator console in headless Chromium against the built service (dist/main.js, the
 * embedded default) and the simulator: sign in, watch a run close, open a failed tenant's
 * cell, retry it as operator and see it recover; as viewer no retry button and a 403.
 * Screenshots of every page at 1280 and 390 px go to test/artifacts/.
 */
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI === 'true') {
  // .ci/run installs it; a CI machine without it must not pass by skipping the console
  throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
}
if (!hasChromium) {
  // eslint-disable-next-line no-console
  console.warn(`NOT RUN "operator console": ${CHROMIUM} is missing (apt-get install chromium)`);
}
(hasChromium ? describe : describe.skip)('operator console in a browser', () => {
  let sim: RunningSimulator;
  let service: ServiceProcess;
  let dataDir: string;
  let browser: Browser;
  let failedTenant: string;
  let firstRunId: string;
  const contexts: BrowserContext[] = [];

  const api = async (role: TestRole, path: string, init: RequestInit = {}) => {
    const res = await fetch(`${service.baseUrl}${API}${path}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${tokenFor(role)}`,
        'Content-Type': 'application/json',
        ...(init.headers ?? {}),
      },
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as any };
  };

  /** A signed-in page of `width` px: the login form takes the token, as a person would. */
  async function signIn(role: TestRole, width: number): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => {
      throw new Error(`console script error: ${err.message}`);
    });
    await page.goto(`${service.baseUrl}/console/`);
    await page.fill('#token', tokenFor(role));
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('#nav:not([hidden])', { timeout: 15000 });
    return page;
  }

  async function shot(page: Page, name: string): Promise<void> {
    const width = page.viewportSize()!.width;
    await page.screenshot({
      path: join(ARTIFACTS, `console-${name}-${width}.png`),
      fullPage: true,
    });
    // readable at this width: the page itself never scrolls sideways (wide grids scroll
    // inside their own box)
    const overflow = await page.evaluate(
      () =>
        (globalThis as any).document.documentElement.scrollWidth -
        (globalThis as any).document.documentElement.clientWidth,
    );
    expect({ page: name, width, overflow }).toEqual({ page: name, width, overflow: 0 });
  }

  async function waitForRunStatus(page: Page, statuses: string[]): Promise<string> {
    const handle = await page.waitForFunction(
      (wanted) => {
        const badge = (globalThis as any).document.querySelector('main h1 .badge');
        return badge && wanted.includes(badge.textContent ?? '') ? badge.textContent : null;
      },
      statuses,
      { timeout: 90000, polling: 250 },
    );
    return (await handle.jsonValue()) as string;
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    sim = await startSimulator({ port: 0, tenants: 6, latencyMs: 40, includeInactive: false });
    failedTenant = sim.activeTenants()[0].id;
    dataDir = mkdtempSync(join(tmpdir(), 'orch-console-'));
    service = new ServiceProcess({
      PORT: freePort(),
      DATA_DIR: dataDir,
      ...serviceUrls(sim.url),
      ...authEnv(),
      EXECUTION_POLL_MS: '200',
    }).start();
    await service.waitFor(`${API}/health/ready`, 90000);
    // a failure is final at once, so the run closes with that tenant failed
    const put = await api('admin', '/workflows/daily_operations', {
      method: 'PUT',
      body: JSON.stringify({ max_retries: 0 }),
    });
    expect(put.status).toBe(200);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await service?.stop('SIGKILL');
    await sim?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a bad token at the login form with a message', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${service.baseUrl}/console/`);
    await page.fill('#token', 'not-a-jwt');
    await page.click('form.login button[type=submit]');
    await expect(page.textContent('[role=alert]')).resolves.toContain('refused this token');
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await shot(page, 'login');
    }
  });

  it('shows a run live on the Runs page until it closes, with one failed tenant', async () => {
    sim.addFault({ service: FAILING.service, tenant_id: failedTenant, status: 400 });
    const page = await signIn('operator', 1280);
    const started = await api('operator', '/workflows/daily_operations/execute', {
      method: 'POST',
      body: '{}',
    });
    expect(started.status).toBe(202);
    firstRunId = started.body.execution_id;
    const row = `tr[data-run="${firstRunId}"]`;
    await page.waitForSelector(row, { timeout: 15000 });
    // live: the page refreshes by itself until the run is no longer running
    await page.waitForFunction(
      (sel) =>
        !['pending', 'running'].includes(
          (globalThis as any).document.querySelector(sel)?.getAttribute('data-status') ?? 'running',
        ),
      row,
      { timeout: 90000, polling: 250 },
    );
    const cells = await page.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent ?? ''));
    expect(cells[3]).toMatch(/^5 \/ 1 \/ 0/);
    expect(cells[5]).toBe('—'); // a manual run is not judged against the deadlines
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await shot(page, 'runs');
    }
  });

  it('opens the failed cell of the grid with its error and log lines, by keyboard', async () => {
    const page = await signIn('operator', 1280);
    await page.goto(`${service.baseUrl}/console/#/run/${firstRunId}`);
    const status = await waitForRunStatus(page, ['completed', 'failed']);
    expect(status).not.toBe('running');
    // failures first
    const first = await page.getAttribute('table.grid tbody tr', 'data-tenant');
    expect(first).toBe(failedTenant);
    const cell = `tr[data-tenant="${failedTenant}"] button[data-step="${FAILING.step}"]`;
    expect(await page.getAttribute(cell, 'class')).toContain('s-failed');
    await page.focus(cell);
    await page.keyboard.press('Enter');
    await page.waitForSelector('section.detail:not([hidden]) .logs li:not(.muted)', {
      timeout: 15000,
    });
    const detail = await page.textContent('section.detail');
    expect(detail).toContain(FAILING.step);
    expect(detail).toMatch(/400/);
    expect(await page.textContent('section.detail .logs')).toContain(`${FAILING.step} failed`);
    // filters: only the failed tenant left
    await page.selectOption('select[data-filter=status]', 'failed');
    expect(await page.$$eval('table.grid tbody tr', (rows) => rows.length)).toBe(1);
    await page.selectOption('select[data-filter=status]', '');
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await shot(page, 'run-grid');
    }
  });

  it('as viewer shows no retry button, and the API refuses the retry (403)', async () => {
    const page = await signIn('viewer', 1280);
    await page.goto(`${service.baseUrl}/console/#/run/${firstRunId}`);
    await page.waitForSelector(`tr[data-tenant="${failedTenant}"]`, { timeout: 15000 });
    expect(await page.$('#retry')).toBeNull();
    const refused = await api('viewer', `/executions/${firstRunId}/retry`, {
      method: 'POST',
      body: '{}',
    });
    expect(refused.status).toBe(403);
  });

  it('retries the failed tenant as operator after a confirmation, and the retry completes', async () => {
    sim.clearFaults();
    const page = await signIn('operator', 1280);
    await page.goto(`${service.baseUrl}/console/#/run/${firstRunId}`);
    await page.click('#retry');
    const dialog = await page.waitForSelector('dialog.confirm[open]');
    // the confirmation names what will be re-run: the tenant and its unfinished step
    const text = await dialog.textContent();
    expect(text).toContain(failedTenant);
    expect(text).toContain(FAILING.step);
    await shot(page, 'retry-confirm');
    await page.click('#retry-confirm');
    await page.waitForFunction(
      (id) =>
        /^#\/run\//.test((globalThis as any).location.hash) &&
        !(globalThis as any).location.hash.includes(id),
      firstRunId,
      { timeout: 15000 },
    );
    expect(await waitForRunStatus(page, ['completed', 'failed'])).toBe('completed');
    const rows = await page.$$eval('table.grid tbody tr', (trs) =>
      trs.map((tr) => [tr.getAttribute('data-tenant'), tr.getAttribute('data-status')]),
    );
    expect(rows).toEqual([[failedTenant, 'completed']]);
    const calls = sim.calls({ tenant_id: failedTenant, operation: 'notification.daily_summary' });
    expect(calls.length).toBeGreaterThanOrEqual(2);
    // the original run now names the run that recovered it, and offers no second retry
    const retryId = /#\/run\/([0-9a-f-]{36})/.exec(page.url())![1];
    await page.goto(`${service.baseUrl}/console/#/run/${firstRunId}`);
    await page.waitForSelector('#recovered-by a', { timeout: 15000 });
    expect(await page.textContent('#recovered-by')).toContain(retryId);
    expect(await page.$('#retry')).toBeNull();
  });

  it('opens signed in from the URL the embedded default prints, and drops the token from it', async () => {
    const embeddedDir = mkdtempSync(join(tmpdir(), 'orch-console-embedded-'));
    const embedded = new ServiceProcess({
      PORT: freePort(),
      DATA_DIR: embeddedDir,
      ...serviceUrls(sim.url),
    }).start();
    try {
      await embedded.waitFor(`${API}/health/ready`, 90000);
      const printed = /^ {2}(http:\/\/\S+\/console\/#token=(eyJ\S+))$/m.exec(embedded.output);
      expect(printed?.[1]).toBe(`${embedded.baseUrl}/console/#token=${printed?.[2]}`);
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(printed![1]);
      await page.waitForSelector('#nav:not([hidden])', { timeout: 15000 });
      expect(await page.textContent('#who')).toContain('admin');
      // the fragment is read once and replaced: no token in the address bar or history
      expect(page.url()).toBe(`${embedded.baseUrl}/console/#/runs`);
      await page.waitForSelector('section[aria-labelledby="wf-daily_operations"]');
    } finally {
      await embedded.stop('SIGKILL');
      rmSync(embeddedDir, { recursive: true, force: true });
    }
  });

  it('shows the schedule with local times and the health page', async () => {
    // Christmas is a national holiday in Spain every year: shifted, whatever today is
    const put = await api('admin', '/schedule', {
      method: 'PUT',
      body: JSON.stringify({
        workflows: [
          {
            workflow: 'weekly_retraining',
            cron_expression: '0 8 25 12 *',
            calendar: { country: 'ES', region: null },
            holiday_policy: 'shift',
          },
        ],
      }),
    });
    expect(put.status).toBe(200);
    const page = await signIn('admin', 1280);
    await page.goto(`${service.baseUrl}/console/#/schedule`);
    await page.waitForSelector('section[data-workflow=daily_operations] table');
    const section = await page.textContent('section[data-workflow=daily_operations]');
    expect(section).toContain('Europe/Madrid');
    // the wall time in the workflow's timezone, with its weekday and offset
    expect(section).toMatch(/(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d{2}-\d{2} 08:00 \(\+0[12]:00\)/);
    expect(await page.$('section[data-workflow=daily_operations] button')).not.toBeNull();
    const shifted = await page.textContent('section[data-workflow=weekly_retraining] tbody tr');
    expect(shifted).toMatch(/shifted from \d{4}-12-25T08:00/);
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await shot(page, 'schedule');
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${service.baseUrl}/console/#/health`);
    await page.waitForSelector('text=Circuit breakers');
    const health = await page.textContent('main');
    expect(health).toContain('single-instance');
    expect(health).toContain('Outbox backlog');
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await shot(page, 'health');
    }
  });
});
