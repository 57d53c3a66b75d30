import { serviceUrls } from 'src/config/env.schema';
import { Global, INestApplicationContext, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ClientsModule } from 'src/clients/clients.module';
import { HttpCore } from 'src/clients/http/http-core';
import { UpstreamError, UpstreamErrorCode } from 'src/clients/http/upstream.error';
import {
  OPERATION_NAMES,
  OperationContext,
  OperationRegistry,
} from 'src/clients/operation-registry';
import { ProcurementClient } from 'src/clients/procurement/procurement.client';
import { TenantClient } from 'src/clients/tenant/tenant.client';
import { Clock, SystemClock } from 'src/common/time/clock';
import { ConfigModule } from 'src/config/config.module';
import { validateEnv } from 'src/config/validate-env';
import { RunningSimulator, startSimulator } from 'tools/simulator';

@Global()
@Module({ providers: [{ provide: Clock, useValue: new SystemClock() }], exports: [Clock] })
class ClockModule {}

/** The typed clients and the operation registry, wired by Nest from the configuration. */
describe('ClientsModule against the simulator', () => {
  let sim: RunningSimulator;
  let app: INestApplicationContext;
  let registry: OperationRegistry;
  const anchor = new Date('2025-11-26T14:30:00Z');

  beforeAll(async () => {
    sim = await startSimulator({ tenants: 75, seed: 9, anchor });
    const env = validateEnv({
      SERVICE_TOKEN: 'integration-token',
      ...serviceUrls(sim.url),
    });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(env), ClockModule, ClientsModule],
    }).compile();
    app = await moduleRef.init();
    registry = app.get(OperationRegistry);
  });
  afterAll(async () => {
    await app?.close();
    await sim?.close();
  });
  beforeEach(() => sim.reset());

  const ctx = (stepName: string, overrides: Partial<OperationContext> = {}): OperationContext => ({
    tenant: { id: sim.activeTenants()[0].id },
    executionId: '7b0f5c9e-1111-4a4a-8b8b-000000000001',
    runId: '7b0f5c9e-1111-4a4a-8b8b-000000000000',
    stepName,
    params: {},
    previousResults: {},
    signal: new AbortController().signal,
    idempotencyKey: `7b0f5c9e-1111-4a4a-8b8b-000000000001:${stepName}`,
    ...overrides,
  });

  it('lists every active tenant, following the pages to the end', async () => {
    const tenants = await app.get(TenantClient).listActiveTenants({ pageSize: 10 });
    expect(tenants.map((t) => t.id)).toEqual(
      sim
        .activeTenants()
        .map((t) => t.id)
        .sort(),
    );
    expect(tenants.every((t) => t.status === 'active')).toBe(true);
    const pages = sim.calls({ operation: 'tenant.list' });
    expect(pages).toHaveLength(Math.ceil(tenants.length / 10));
    expect(pages.every((c) => c.status === 200)).toBe(true);
  });

  it('fetches the pages after the first several at a time, keeping their order', async () => {
    sim.setConfig({ latency_ms: 25 });
    try {
      sim.resetStats();
      const tenants = await app.get(TenantClient).listTenants(null, { pageSize: 5 });
      expect(tenants.map((t) => t.id)).toEqual(
        sim
          .tenants()
          .map((t) => t.id)
          .sort(),
      );
      // page 1 alone (it tells how many there are), then the rest 8 at a time at most
      expect(sim.stats().max_in_flight.tenant).toBeGreaterThan(1);
      expect(sim.stats().max_in_flight.tenant).toBeLessThanOrEqual(8);
      expect(sim.calls({ operation: 'tenant.list' })).toHaveLength(Math.ceil(75 / 5));
    } finally {
      sim.setConfig({ latency_ms: 0 });
    }
  });

  it('lists the purchase orders to track for a tenant across pages, past due included', async () => {
    const tenantId = sim.activeTenants()[1].id;
    const orders = await app.get(ProcurementClient).listPurchaseOrdersForDelivery(tenantId, {
      deliveryBefore: new Date(anchor.getTime() + 48 * 3_600_000),
      statuses: ['approved', 'sent', 'received'],
      pageSize: 2,
    });
    const expected = sim.purchaseOrders(tenantId).filter((p) => p.sim_case !== 'far_future');
    expect(orders.map((o) => o.id).sort()).toEqual(expected.map((p) => p.id).sort());
    for (const o of orders) {
      expect(o).toEqual(
        expect.objectContaining({
          po_number: expect.any(String),
          supplier: expect.objectContaining({ name: expect.any(String) }),
          delivery_window: { start: o.expected_delivery_date, end: expect.any(String) },
          receipt: expect.objectContaining({
            status: expect.stringMatching(/^(none|draft|confirmed)$/),
          }),
        }),
      );
    }
    expect(sim.calls({ operation: 'procurement.list_purchase_orders' }).length).toBe(
      Math.ceil(orders.length / 2),
    );
  });

  it('runs every operation of the contract once, with its idempotency key and the run id', async () => {
    const previousResults: Record<string, unknown> = {};
    const order = [
      'forecasting.generate',
      'production.generate_schedule',
      'procurement.calculate_needs',
      'inventory.project',
      'forecasting.validate',
      'notification.daily_summary',
      'notification.weekly_digest',
      'forecasting.evaluate_and_retrain',
      'training.retrain',
      'alert_processor.archive_resolved',
      'notification.workflow_failure',
    ];
    expect([...order].sort()).toEqual([...OPERATION_NAMES].sort());
    const params: Record<string, Record<string, unknown>> = {
      'forecasting.evaluate_and_retrain': { auto_trigger: false, mape_threshold: 10 },
      'notification.workflow_failure': { workflow_name: 'daily_operations', error_message: 'boom' },
    };
    for (const operation of order) {
      const step = operation.replace('.', '_');
      const result = await registry.run(
        operation,
        ctx(step, { params: params[operation] ?? {}, previousResults: { ...previousResults } }),
      );
      previousResults[step] = result;
    }
    const summary = previousResults.notification_daily_summary as { summary_sections: string[] };
    expect(summary.summary_sections).toEqual([
      'forecasts',
      'inventory',
      'procurement',
      'production',
      'validation',
    ]);
    expect(previousResults.training_retrain).toEqual(expect.objectContaining({ status: 'queued' }));

    const calls = sim.calls();
    expect(calls.map((c) => c.operation)).toEqual(order);
    for (const call of calls) {
      expect(call.status).toBeLessThan(300);
      expect(call.tenant_id).toBe(sim.activeTenants()[0].id);
      expect(call.idempotency_key).toBe(
        `7b0f5c9e-1111-4a4a-8b8b-000000000001:${call.operation.replace('.', '_')}`,
      );
    }
  });

  it('applies the step overrides: retries 0 means a 503 is not retried', async () => {
    sim.addFault({ operation: 'inventory.project', status: 503, times: 1 });
    const err = await registry
      .run('inventory.project', ctx('project_inventory', { retries: 0 }))
      .catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toEqual(expect.objectContaining({ status: 503, retryable: true, attempts: 1 }));
    expect(sim.calls({ operation: 'inventory.project' })).toHaveLength(1);

    sim.addFault({ operation: 'inventory.project', status: 503, times: 1 });
    await expect(
      registry.run('inventory.project', ctx('project_inventory', { retries: 2 })),
    ).resolves.toEqual(expect.objectContaining({ items_projected: expect.any(Number) }));
  });

  it('applies the step timeout and the caller signal', async () => {
    sim.addFault({ operation: 'production.generate_schedule', hang: true });
    const started = Date.now();
    const timedOut = await registry
      .run('production.generate_schedule', ctx('plan', { timeoutSeconds: 1, retries: 0 }))
      .catch((e: UpstreamError) => e);
    expect(timedOut.code).toBe(UpstreamErrorCode.TIMEOUT);
    expect(Date.now() - started).toBeLessThan(1800);

    const controller = new AbortController();
    const pending = registry.run(
      'production.generate_schedule',
      ctx('plan', { signal: controller.signal }),
    );
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toEqual(
      expect.objectContaining({ code: UpstreamErrorCode.ABORTED }),
    );
  });

  it('reports a suspended tenant as a non-retryable 409', async () => {
    const suspended = sim.tenants().find((t) => t.status === 'suspended')!;
    const err = await registry
      .run('forecasting.generate', ctx('generate_forecasts', { tenant: { id: suspended.id } }))
      .catch((e: UpstreamError) => e);
    expect(err).toEqual(expect.objectContaining({ status: 409, retryable: false }));
  });

  it('gives every service its own breaker and concurrency limit', () => {
    const http = app.get(HttpCore);
    expect(http.serviceNames().sort()).toEqual([
      'alert_processor',
      'forecasting',
      'inventory',
      'notification',
      'procurement',
      'production',
      'tenant',
      'training',
    ]);
    expect(http.concurrency('forecasting').limit).toBe(100);
  });
});
