import {
  DELIVERY_CASES,
  generateTenants,
  purchaseOrdersFor,
  statusForIndex,
  validationMetrics,
} from './data';

const HOUR = 3_600_000;
const MIN = 60_000;

describe('generateTenants', () => {
  it('gives the same tenants for the same seed and different ones for another seed', () => {
    const a = generateTenants({ seed: 7, count: 20 });
    const b = generateTenants({ seed: 7, count: 20 });
    const c = generateTenants({ seed: 8, count: 20 });
    expect(b).toEqual(a);
    expect(c.map((r) => r.tenant.id)).not.toEqual(a.map((r) => r.tenant.id));
  });

  it('mixes tiers, timezones and regions, with a few suspended and cancelled tenants', () => {
    const tenants = generateTenants({ seed: 42, count: 500 }).map((r) => r.tenant);
    const count = (f: (t: (typeof tenants)[number]) => boolean) => tenants.filter(f).length;
    for (const tier of ['enterprise', 'professional', 'starter', 'free']) {
      expect(count((t) => t.subscription_tier === tier)).toBeGreaterThan(10);
    }
    expect(count((t) => t.timezone === 'Europe/Madrid')).toBeGreaterThan(300);
    expect(count((t) => t.timezone === 'Atlantic/Canary')).toBeGreaterThan(10);
    expect(count((t) => t.timezone === 'Europe/Lisbon')).toBeGreaterThan(5);
    expect(count((t) => t.region.region === 'MD')).toBeGreaterThan(20);
    expect(count((t) => t.region.region === 'CT')).toBeGreaterThan(10);
    expect(count((t) => t.timezone === 'Atlantic/Canary' && t.region.region !== 'CN')).toBe(0);
    expect(count((t) => t.status === 'suspended')).toBe(
      tenants.filter((_, i) => statusForIndex(i) === 'suspended').length,
    );
    expect(count((t) => t.status === 'suspended')).toBeGreaterThan(20);
    expect(count((t) => t.status === 'cancelled')).toBeGreaterThan(15);
    expect(new Set(tenants.map((t) => t.id)).size).toBe(500);
    for (const t of tenants)
      expect(t.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('has 45 active tenants out of 50, and all active when inactive ones are turned off', () => {
    expect(
      generateTenants({ seed: 1, count: 50 }).filter((r) => r.tenant.status === 'active'),
    ).toHaveLength(45);
    expect(
      generateTenants({ seed: 1, count: 50, includeInactive: false }).every(
        (r) => r.tenant.status === 'active',
      ),
    ).toBe(true);
  });
});

describe('purchaseOrdersFor', () => {
  const anchor = Date.parse('2025-11-26T14:30:00Z');
  const records = generateTenants({ seed: 3, count: 30 });

  it('builds every delivery case for each tenant, each inside its band around the anchor', () => {
    for (const record of records) {
      const pos = purchaseOrdersFor(3, record, anchor, 8);
      expect(new Set(pos.map((p) => p.sim_case))).toEqual(new Set(DELIVERY_CASES));
      for (const { sim_case, startMs, endMs, po } of pos) {
        const untilStart = startMs - anchor;
        const sinceEnd = anchor - endMs;
        expect(endMs).toBeGreaterThan(startMs);
        expect(po.expected_delivery_date).toBe(po.delivery_window.start);
        switch (sim_case) {
          case 'arriving_soon':
            expect(untilStart).toBeGreaterThan(0);
            expect(untilStart).toBeLessThan(2 * HOUR);
            break;
          case 'overdue':
            expect(sinceEnd).toBeGreaterThan(30 * MIN);
            expect(sinceEnd).toBeLessThan(2 * HOUR);
            expect(po.receipt.status).toBe('none');
            break;
          case 'receipt_incomplete':
            expect(sinceEnd).toBeGreaterThan(2 * HOUR);
            expect(po.receipt).toEqual({ status: 'draft', receipt_id: expect.any(String) });
            break;
          case 'received':
            expect(po.status).toBe('received');
            expect(po.receipt.status).toBe('confirmed');
            break;
          case 'far_future':
            expect(untilStart).toBeGreaterThan(48 * HOUR);
            break;
          case 'in_window':
            expect(untilStart).toBeLessThan(0);
            expect(endMs).toBeGreaterThan(anchor);
            break;
        }
      }
    }
  });

  it('moves the windows with the anchor and keeps everything else', () => {
    const a = purchaseOrdersFor(3, records[0], anchor, 8);
    const b = purchaseOrdersFor(3, records[0], anchor + 3 * HOUR, 8);
    expect(b.map((p) => p.startMs - a.find((x) => x.po.id === p.po.id)!.startMs)).toEqual(
      new Array(8).fill(3 * HOUR),
    );
    expect(b.map((p) => p.po.line_items)).toEqual(
      b.map((p) => a.find((x) => x.po.id === p.po.id)!.po.line_items),
    );
  });

  it('gives each PO a supplier, line items and a total that adds up', () => {
    for (const { po } of purchaseOrdersFor(3, records[1], anchor, 8)) {
      expect(po.supplier.name).toEqual(expect.any(String));
      expect(po.line_items.length).toBeGreaterThan(0);
      const total = po.line_items.reduce((s, l) => s + l.quantity * l.unit_price, 0);
      expect(po.total_amount).toBeCloseTo(total, 1);
      expect(po.po_number).toMatch(/^PO-2025-\d{4}$/);
    }
  });
});

describe('validationMetrics', () => {
  it('returns consistent metrics: accuracy = 100 - MAPE, coverage from products with sales', () => {
    const [record] = generateTenants({ seed: 5, count: 1 });
    const m = validationMetrics(5, record, '2025-11-25');
    expect(m.accuracy_percentage).toBeCloseTo(100 - m.overall_mape, 0);
    expect(m.coverage_percentage).toBeCloseTo(
      (m.forecasts_validated / record.productCount) * 100,
      0,
    );
    expect(m.product_breakdown).toHaveLength(m.forecasts_validated);
    expect(m.overall_rmse).toBeGreaterThanOrEqual(m.overall_mae);
    expect(m.overall_r2).toBeLessThanOrEqual(1);
    expect(validationMetrics(5, record, '2025-11-25')).toEqual(m);
  });
});
