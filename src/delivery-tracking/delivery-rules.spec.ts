import {
  DeliveryAlertType,
  SentDeliveryAlert,
  TrackedPurchaseOrder,
  decideDeliveryAlerts,
} from './delivery-rules';

const NOW = new Date('2025-11-26T14:30:00.000Z');
const min = (n: number) => n * 60_000;
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();

/** An order whose window is [expected, expected + 1 h], placed relative to NOW. */
function order(
  expectedOffsetMs: number,
  overrides: Partial<TrackedPurchaseOrder> = {},
): TrackedPurchaseOrder {
  return {
    id: 'po-1',
    po_number: 'PO-2025-043',
    status: 'approved',
    supplier: { id: 'sup-1', name: 'Harinas del Sur', phone: '+34 600 000 000', email: null },
    line_items: [{ sku: 'flour' }, { sku: 'yeast' }, { sku: 'butter' }],
    expected_delivery_date: at(expectedOffsetMs),
    delivery_window: { start: at(expectedOffsetMs), end: at(expectedOffsetMs + min(60)) },
    receipt: { status: 'none' },
    ...overrides,
  };
}

/** An order whose window ended `sinceEndMs` before NOW. */
const endedAgo = (sinceEndMs: number, overrides: Partial<TrackedPurchaseOrder> = {}) =>
  order(-sinceEndMs - min(60), overrides);

const types = (po: TrackedPurchaseOrder, now = NOW, sent: SentDeliveryAlert[] = []) =>
  decideDeliveryAlerts(po, now, sent).map((d) => d.type);

describe(decideDeliveryAlerts.name, () => {
  describe('timing boundaries', () => {
    it.each<[string, TrackedPurchaseOrder, DeliveryAlertType[]]>([
      ['2 h 5 min before the expected delivery', order(min(125)), []],
      ['2 h 0 min before (inclusive)', order(min(120)), ['DELIVERY_ARRIVING_SOON']],
      ['1 h 55 min before', order(min(115)), ['DELIVERY_ARRIVING_SOON']],
      ['inside the window', order(-min(10)), ['DELIVERY_ARRIVING_SOON']],
      ['exactly at window end', endedAgo(0), []],
      ['window end + 29 min', endedAgo(min(29)), []],
      ['window end + 30 min (inclusive)', endedAgo(min(30)), ['DELIVERY_OVERDUE']],
      ['window end + 1 h 59 min', endedAgo(min(119)), ['DELIVERY_OVERDUE']],
      [
        'window end + 2 h, nothing received',
        endedAgo(min(120)),
        ['DELIVERY_OVERDUE', 'STOCK_RECEIPT_INCOMPLETE'],
      ],
      [
        'window end + 2 h with a draft receipt',
        endedAgo(min(120), { receipt: { status: 'draft', receipt_id: 'rcpt-7' } }),
        ['DELIVERY_OVERDUE', 'STOCK_RECEIPT_INCOMPLETE'],
      ],
      [
        'window end + 45 min with a draft receipt',
        endedAgo(min(45), { receipt: { status: 'draft', receipt_id: 'rcpt-7' } }),
        ['DELIVERY_OVERDUE'],
      ],
      [
        'status sent counts as awaited',
        order(min(115), { status: 'sent' }),
        ['DELIVERY_ARRIVING_SOON'],
      ],
    ])('%s', (_case, po, expected) => {
      expect(types(po)).toEqual(expected);
    });
  });

  describe('received orders', () => {
    it.each<[string, TrackedPurchaseOrder]>([
      ['status received, window long past', endedAgo(min(300), { status: 'received' })],
      [
        'confirmed receipt, window long past',
        endedAgo(min(300), { receipt: { status: 'confirmed', receipt_id: 'r' } }),
      ],
      [
        'confirmed receipt, arriving soon',
        order(min(60), { receipt: { status: 'confirmed', receipt_id: 'r' } }),
      ],
      ['cancelled order', endedAgo(min(300), { status: 'cancelled' })],
    ])('%s gets nothing', (_case, po) => {
      expect(types(po)).toEqual([]);
    });
  });

  it('falls back to the expected instant when there is no window', () => {
    const po = order(-min(30), { delivery_window: null });
    expect(types(po)).toEqual(['DELIVERY_OVERDUE']);
    expect(decideDeliveryAlerts(po, NOW, [])[0].context.delivery_window).toEqual({
      start: at(-min(30)),
      end: at(-min(30)),
    });
  });

  it('sends nothing twice for the same window in the same hour', () => {
    const po = endedAgo(min(125));
    const first = decideDeliveryAlerts(po, NOW, []);
    const sent = first.map((d) => ({ alert_type: d.type, expected_delivery: d.expected_delivery }));
    expect(first.map((d) => d.type)).toEqual(['DELIVERY_OVERDUE', 'STOCK_RECEIPT_INCOMPLETE']);
    expect(decideDeliveryAlerts(po, new Date(NOW.getTime() + min(20)), sent)).toEqual([]);
  });

  it('re-arms once when the expected delivery moves', () => {
    const original = endedAgo(min(35));
    const sentBefore: SentDeliveryAlert[] = decideDeliveryAlerts(original, NOW, []).map((d) => ({
      alert_type: d.type,
      expected_delivery: d.expected_delivery,
    }));
    expect(sentBefore.map((s) => s.alert_type)).toEqual(['DELIVERY_OVERDUE']);

    // the supplier reschedules to 3 hours later: the old window's alerts do not repeat,
    // and the new window is alerted when its own time comes, once
    const moved = order(min(180));
    const later = new Date(NOW.getTime() + min(65));
    expect(types(moved, later, sentBefore)).toEqual(['DELIVERY_ARRIVING_SOON']);
    const sentAfter = [
      ...sentBefore,
      ...decideDeliveryAlerts(moved, later, sentBefore).map((d) => ({
        alert_type: d.type,
        expected_delivery: d.expected_delivery,
      })),
    ];
    expect(types(moved, new Date(later.getTime() + min(60)), sentAfter)).toEqual([]);
    // and its window passing raises the overdue alert again, for the new window
    expect(types(moved, new Date(NOW.getTime() + min(180 + 60 + 30)), sentAfter)).toEqual([
      'DELIVERY_OVERDUE',
    ]);
  });

  it('ignores alerts recorded for another window of the same order', () => {
    const po = endedAgo(min(40));
    const sentForOldWindow: SentDeliveryAlert[] = [
      { alert_type: 'DELIVERY_OVERDUE', expected_delivery: new Date('2025-11-20T08:00:00Z') },
    ];
    expect(types(po, NOW, sentForOldWindow)).toEqual(['DELIVERY_OVERDUE']);
  });

  describe('alert content', () => {
    it('arriving soon: priority 70, action_needed, supply_chain, create-mode receipt, checklist', () => {
      const [alert] = decideDeliveryAlerts(order(min(105)), NOW, []);
      expect(alert).toMatchObject({
        type: 'DELIVERY_ARRIVING_SOON',
        purchase_order_id: 'po-1',
        priority_score: 70,
        alert_class: 'action_needed',
        domain: 'supply_chain',
        severity: 'medium',
        smart_actions: [
          {
            action_type: 'open_stock_receipt_modal',
            metadata: { mode: 'create', purchase_order_id: 'po-1', po_number: 'PO-2025-043' },
          },
        ],
      });
      expect(alert.context).toMatchObject({
        po_number: 'PO-2025-043',
        supplier_name: 'Harinas del Sur',
        expected_delivery: at(min(105)),
        delivery_window: { start: at(min(105)), end: at(min(165)) },
        delay_minutes: 0,
        items_count: 3,
        minutes_until_delivery: 105,
      });
      expect(alert.context.preparation_checklist).toEqual(
        expect.arrayContaining(['Clear the receiving area']),
      );
    });

    it('overdue: priority 95, critical, contact supplier then open receipt, delay in minutes', () => {
      const [alert] = decideDeliveryAlerts(endedAgo(min(45)), NOW, []);
      expect(alert).toMatchObject({
        type: 'DELIVERY_OVERDUE',
        priority_score: 95,
        alert_class: 'critical',
        domain: 'supply_chain',
        severity: 'critical',
      });
      expect(alert.smart_actions.map((a) => a.action_type)).toEqual([
        'contact_supplier',
        'open_stock_receipt_modal',
      ]);
      expect(alert.smart_actions[0].metadata).toMatchObject({
        supplier_id: 'sup-1',
        phone: '+34 600 000 000',
      });
      expect(alert.context.delay_minutes).toBe(45);
    });

    it('overdue with a draft receipt reopens that draft', () => {
      const po = endedAgo(min(50), { receipt: { status: 'draft', receipt_id: 'rcpt-9' } });
      const [alert] = decideDeliveryAlerts(po, NOW, []);
      expect(alert.type).toBe('DELIVERY_OVERDUE');
      expect(alert.smart_actions[1].metadata).toMatchObject({ mode: 'edit', receipt_id: 'rcpt-9' });
    });

    it.each<[string, TrackedPurchaseOrder, Record<string, unknown>]>([
      [
        'edit mode on the existing draft',
        endedAgo(min(121), { receipt: { status: 'draft', receipt_id: 'rcpt-7' } }),
        { mode: 'edit', receipt_id: 'rcpt-7' },
      ],
      ['create mode when no draft exists', endedAgo(min(121)), { mode: 'create' }],
    ])('receipt incomplete: priority 80, inventory, %s', (_case, po, metadata) => {
      const alert = decideDeliveryAlerts(po, NOW, []).find(
        (d) => d.type === 'STOCK_RECEIPT_INCOMPLETE',
      )!;
      expect(alert).toMatchObject({
        priority_score: 80,
        alert_class: 'action_needed',
        domain: 'inventory',
        severity: 'high',
      });
      expect(alert.smart_actions).toEqual([
        expect.objectContaining({
          action_type: 'open_stock_receipt_modal',
          metadata: expect.objectContaining(metadata),
        }),
      ]);
      expect(alert.context.delay_minutes).toBe(121);
    });
  });
});
