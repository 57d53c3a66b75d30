import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import amqplib, { ChannelModel } from 'amqplib';
import { Client } from 'pg';
import { decideDeliveryAlerts, TrackedPurchaseOrder } from 'src/delivery-tracking/delivery-rules';
import { LOOKAHEAD_MS } from 'src/delivery-tracking/delivery-tracking.service';
import { RunningSimulator, startSimulator } from 'tools/simulator';
import { ServiceProcess, freePort } from '../utils/service-process';
import { SERVICES, describeWith } from '../utils/services';
import { TcpProxy } from '../utils/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const ROOT = join(__dirname, '../..');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  summary: Record<string, any>;
}

/** `node dist/cli.js delivery-tracking` as the CronJob runs it; stdout and stderr apart. */
function runCli(env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli.js', 'delivery-tracking'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ code, stdout, stderr, summary: JSON.parse(last) });
      } catch {
        reject(new Error(`last stdout line is not JSON: ${last}\nstderr:\n${stderr.slice(-3000)}`));
      }
    });
  });
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Seen {
  routingKey: string;
  persistent: boolean;
  payload: Record<string, any>;
}
const keyOf = (m: Seen) => `${m.payload.tenant_id}|${m.payload.entity_id}|${m.payload.event_type}`;

describeWith(
  ['postgres', 'rabbitmq'],
  'delivery tracking CLI against the simulator and RabbitMQ',
  () => {
    let db: TestDatabase;
    let sql: Client;
    let sim: RunningSimulator;
    let broker: ChannelModel;
    let rabbitProxy: TcpProxy;
    let relay: ServiceProcess;
    let tenantIds: string[];
    let cliEnv: Record<string, string>;
    const seen: Seen[] = [];
    const mine = () => seen.filter((m) => tenantIds.includes(m.payload.tenant_id));

    /** "tenant|po|type" the rules give at `now` (the simulator's orders, nothing sent yet). */
    const expectedAt = (now: Date, tenants = tenantIds) =>
      tenants
        .flatMap((tenantId) =>
          sim
            .purchaseOrders(tenantId)
            .filter((po) => ['approved', 'sent'].includes(po.status))
            .filter(
              (po) => new Date(po.expected_delivery_date).getTime() <= now.getTime() + LOOKAHEAD_MS,
            )
            .flatMap((po) =>
              decideDeliveryAlerts(po as TrackedPurchaseOrder, now, []).map(
                (d) => `${tenantId}|${po.id}|${d.type}`,
              ),
            ),
        )
        .sort();

    /** The CLI reads the real clock: the expectation must not depend on the exact instant. */
    async function runAndExpect(tenants = tenantIds) {
      const before = expectedAt(new Date(), tenants);
      const result = await runCli(cliEnv);
      const after = expectedAt(new Date(), tenants);
      expect(after).toEqual(before);
      return { result, expected: before };
    }

    /**
     * Every expected delivery moves 2 min earlier: a new window version for each order, so
     * each is alerted afresh, while every order stays well inside its case's band (the
     * simulator keeps them at least 5 min from a threshold) against the real clock the CLI
     * reads.
     */
    const rescheduleEveryOrder = () => sim.setAnchor(new Date(sim.anchor().getTime() - 2 * 60_000));

    const unsent = async () =>
      (
        await sql.query(
          `SELECT count(*)::int AS n FROM orchestrator_outbox
            WHERE sent_at IS NULL AND exchange = 'supply_chain.alerts'`,
        )
      ).rows[0].n as number;

    beforeAll(async () => {
      db = await createTestDatabase({ migrated: true });
      sql = new Client({ connectionString: db.url });
      await sql.connect();
      // a seed of its own: tenant ids that no other suite on the shared broker produces
      sim = await startSimulator({ tenants: 50, seed: randomInt(1, 2 ** 31) });
      tenantIds = sim.activeTenants().map((t) => t.id);

      broker = await amqplib.connect(SERVICES.rabbitmq.url);
      const channel = await broker.createChannel();
      await channel.assertExchange('supply_chain.alerts', 'topic', { durable: true });
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, 'supply_chain.alerts', 'alert.#');
      await channel.consume(
        queue,
        (msg) =>
          msg &&
          seen.push({
            routingKey: msg.fields.routingKey,
            persistent: msg.properties.deliveryMode === 2,
            payload: JSON.parse(msg.content.toString()),
          }),
        { noAck: true },
      );

      // RabbitMQ as the processes under test see it: cut and restored by the test, while
      // the shared broker itself keeps running
      rabbitProxy = new TcpProxy(SERVICES.rabbitmq.host, SERVICES.rabbitmq.port);
      await rabbitProxy.start();
      const rabbitUrl = `amqp://guest:guest@127.0.0.1:${rabbitProxy.port}`;
      cliEnv = {
        DATABASE_URL: db.url,
        RABBITMQ_URL: rabbitUrl,
        TENANT_SERVICE_URL: sim.url,
        PROCUREMENT_SERVICE_URL: sim.url,
        RUN_MIGRATIONS: 'false',
      };
      // a service replica, as in production: it relays what the CLI left in the outbox
      relay = new ServiceProcess({
        PORT: freePort(),
        DATABASE_URL: db.url,
        RABBITMQ_URL: rabbitUrl,
        ENABLE_LEADER_ELECTION: 'false',
        DELIVERY_TRACKING_IN_PROCESS: 'false',
        AUTH_JWT_SECRET: 'delivery-e2e-secret-0123456789abcdef0123456789',
        TENANT_SERVICE_URL: sim.url,
      }).start();
      await relay.waitFor('/api/v1/orchestrator/health/ready');
    });

    afterAll(async () => {
      await relay?.stop('SIGKILL');
      await rabbitProxy?.cut();
      await broker?.close().catch(() => undefined);
      await sim?.close();
      await sql?.end();
      await db?.drop();
    });

    it('delivers exactly the expected alerts of 50 tenants to a bound queue, and a JSON summary', async () => {
      const { result, expected } = await runAndExpect();
      expect(result.code).toBe(0);
      expect(result.summary).toMatchObject({
        status: 'completed',
        tenants: tenantIds.length,
        errors: 0,
        purchase_orders_checked: expect.any(Number),
      });
      const total = Object.values(result.summary.alerts as Record<string, number>).reduce(
        (a, b) => a + b,
        0,
      );
      expect(total).toBe(expected.length);
      expect(result.summary.alerts.DELIVERY_ARRIVING_SOON).toBeGreaterThan(0);
      expect(result.summary.alerts.DELIVERY_OVERDUE).toBeGreaterThan(0);
      expect(result.summary.alerts.STOCK_RECEIPT_INCOMPLETE).toBeGreaterThan(0);
      // stdout is the summary alone; the logs went to stderr
      expect(result.stdout.trim().split('\n')).toHaveLength(1);

      await until(() => mine().length >= expected.length, 30_000);
      await new Promise((r) => setTimeout(r, 1000)); // room for a duplicate to show up
      expect(mine().map(keyOf).sort()).toEqual(expected);
      expect(mine().every((m) => m.persistent)).toBe(true);
      const { rows } = await sql.query(
        `SELECT status, trigger, summary FROM orchestrator_delivery_runs ORDER BY started_at`,
      );
      expect(rows).toEqual([
        expect.objectContaining({
          status: 'completed',
          trigger: 'cli',
          summary: expect.objectContaining({ tenants: tenantIds.length }),
        }),
      ]);
    });

    it('sends nothing when run again', async () => {
      const before = mine().length;
      const result = await runCli(cliEnv);
      expect(result.code).toBe(0);
      expect(result.summary.alerts).toEqual({
        DELIVERY_ARRIVING_SOON: 0,
        DELIVERY_OVERDUE: 0,
        STOCK_RECEIPT_INCOMPLETE: 0,
      });
      await new Promise((r) => setTimeout(r, 2000));
      expect(mine()).toHaveLength(before);
    });

    it('refuses to start while another run is active, exiting 3 without calling anyone', async () => {
      const { rows } = await sql.query(
        `INSERT INTO orchestrator_delivery_runs (trigger, holder, started_at, lease_expires_at)
         VALUES ('cron', 'other-pod:1', now(), now() + interval '30 minutes') RETURNING id`,
      );
      sim.clearCalls();
      try {
        const result = await runCli(cliEnv);
        expect(result.code).toBe(3);
        expect(result.summary).toMatchObject({
          status: 'refused',
          tenants: 0,
          errors: 0,
          active_run: { id: rows[0].id, holder: 'other-pod:1' },
        });
        expect(sim.calls({ service: 'procurement' })).toHaveLength(0);
      } finally {
        await sql.query(
          `UPDATE orchestrator_delivery_runs SET status = 'completed' WHERE id = $1`,
          [rows[0].id],
        );
      }
    });

    it('keeps the alerts of a run made while RabbitMQ is unreachable and delivers them after it returns', async () => {
      await until(async () => (await unsent()) === 0, 30_000);
      rescheduleEveryOrder();
      const before = mine().length;
      await rabbitProxy.cut();

      const { result, expected } = await runAndExpect();
      expect(result.code).toBe(0);
      expect(result.summary.errors).toBe(0);
      expect(expected.length).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 2000));
      expect(mine()).toHaveLength(before);
      expect(await unsent()).toBe(expected.length);

      await rabbitProxy.restore();
      await until(() => mine().length >= before + expected.length, 60_000);
      await until(async () => (await unsent()) === 0, 30_000);
      await new Promise((r) => setTimeout(r, 1000));
      expect(mine().slice(before).map(keyOf).sort()).toEqual(expected);
    });

    it('counts a tenant whose procurement answers 500 in errors and processes the others', async () => {
      rescheduleEveryOrder();
      const failing = tenantIds[3];
      sim.addFault({ service: 'procurement', tenant_id: failing, status: 500 });
      const before = mine().length;
      try {
        const { result, expected } = await runAndExpect(tenantIds.filter((t) => t !== failing));
        expect(result.code).toBe(0);
        expect(result.summary).toMatchObject({
          status: 'completed',
          tenants: tenantIds.length,
          errors: 1,
        });
        const logLines = result.stderr
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(logLines).toContainEqual(
          expect.objectContaining({
            msg: 'delivery tracking failed for a tenant',
            tenantId: failing,
            error: expect.stringContaining('500'),
          }),
        );
        await until(() => mine().length >= before + expected.length, 30_000);
        await new Promise((r) => setTimeout(r, 1000));
        expect(mine().slice(before).map(keyOf).sort()).toEqual(expected);
      } finally {
        sim.clearFaults();
      }
    });
  },
);
