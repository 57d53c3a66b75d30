import { buildDeliveryAlertEvent, deliveryAlertRoutingKey } from './delivery-alert.event';
import { decideDeliveryAlerts } from './delivery-rules';

describe(deliveryAlertRoutingKey.name, () => {
  it.each([
    ['DELIVERY_ARRIVING_SOON', 'alert.delivery_arriving_soon'],
    ['DELIVERY_OVERDUE', 'alert.delivery_overdue'],
    ['STOCK_RECEIPT_INCOMPLETE', 'alert.stock_receipt_incomplete'],
  ] as const)('routes %s to %s', (type, key) => {
    expect(deliveryAlertRoutingKey(type)).toBe(key);
  });
});

describe(buildDeliveryAlertEvent.name, () => {
  it('carries the specification publish call fields plus event_id, class, domain and actions', () => {
    const now = new Date('2025-11-26T14:30:00.000Z');
    const [decision] = decideDeliveryAlerts(
      {
        id: 'po-9',
        po_number: 'PO-2025-041',
        status: 'sent',
        supplier: { name: 'Lácteos Norte' },
        line_items: [{}, {}],
        expected_delivery_date: '2025-11-26T13:00:00.000Z',
        delivery_window: { start: '2025-11-26T13:00:00.000Z', end: '2025-11-26T13:45:00.000Z' },
        receipt: { status: 'none' },
      },
      now,
      [],
    );
    expect(buildDeliveryAlertEvent(decision, 'tenant-1', 'evt-1', now)).toEqual({
      event_id: 'evt-1',
      tenant_id: 'tenant-1',
      event_type: 'DELIVERY_OVERDUE',
      entity_type: 'purchase_order',
      entity_id: 'po-9',
      severity: 'critical',
      priority_score: 95,
      alert_class: 'critical',
      domain: 'supply_chain',
      smart_actions: decision.smart_actions,
      context: expect.objectContaining({
        po_number: 'PO-2025-041',
        supplier_name: 'Lácteos Norte',
        expected_delivery: '2025-11-26T13:00:00.000Z',
        delay_minutes: 45,
        items_count: 2,
      }),
      timestamp: '2025-11-26T14:30:00.000Z',
    });
  });
});
