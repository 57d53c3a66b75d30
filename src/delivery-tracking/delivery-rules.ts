/**
 * When a purchase order deserves a delivery alert: pure functions of the order, `now` and
 * the alerts already sent for it. Timings, priorities, classes and domains are the
 * specification's ("Delivery Tracking Service"); nothing here reads a clock or a database.
 */

export const DELIVERY_ALERT_TYPES = [
  'DELIVERY_ARRIVING_SOON',
  'DELIVERY_OVERDUE',
  'STOCK_RECEIPT_INCOMPLETE',
] as const;
export type DeliveryAlertType = (typeof DELIVERY_ALERT_TYPES)[number];

export type ReceiptStatus = 'none' | 'draft' | 'confirmed';

/** What the rules need to know about a purchase order (mapped from the procurement client). */
export interface TrackedPurchaseOrder {
  id: string;
  po_number: string;
  /** procurement's status; only approved and sent orders are still awaited */
  status: string;
  supplier: { id?: string | null; name: string; phone?: string | null; email?: string | null };
  line_items: readonly unknown[];
  /** ISO 8601 instant */
  expected_delivery_date: string;
  /** ISO 8601 instants; null when the supplier gave only the expected time */
  delivery_window: { start: string; end: string } | null;
  receipt: { status: ReceiptStatus; receipt_id?: string | null };
}

/** An alert already recorded for this order, as stored (see delivery-alert.repository.ts). */
export interface SentDeliveryAlert {
  alert_type: DeliveryAlertType;
  /** the expected delivery the alert was sent for: the window version */
  expected_delivery: Date;
}

export type AlertClass = 'action_needed' | 'critical';
export type AlertDomain = 'supply_chain' | 'inventory';
export type AlertSeverity = 'medium' | 'high' | 'critical';

export interface SmartAction {
  action_type: 'open_stock_receipt_modal' | 'contact_supplier';
  label: string;
  metadata: Record<string, unknown>;
}

export interface DeliveryAlertContext {
  po_number: string;
  supplier_name: string;
  expected_delivery: string;
  delivery_window: { start: string; end: string };
  /** minutes since the delivery window ended (0 before it ends) */
  delay_minutes: number;
  items_count: number;
  [extra: string]: unknown;
}

export interface DeliveryAlertDecision {
  type: DeliveryAlertType;
  purchase_order_id: string;
  /** the dedupe key's window version: the order's expected delivery when decided */
  expected_delivery: Date;
  severity: AlertSeverity;
  priority_score: number;
  alert_class: AlertClass;
  domain: AlertDomain;
  smart_actions: SmartAction[];
  context: DeliveryAlertContext;
}

const MINUTE_MS = 60_000;
/** "arriving soon" from two hours before the expected delivery */
export const ARRIVING_SOON_LEAD_MS = 120 * MINUTE_MS;
/** the grace period after the window before a delivery is overdue (inclusive) */
export const OVERDUE_GRACE_MS = 30 * MINUTE_MS;
/** how long after the window a missing confirmed receipt becomes a reminder */
export const RECEIPT_INCOMPLETE_AFTER_MS = 120 * MINUTE_MS;

/** Statuses in which goods are still awaited: anything else (received, cancelled…) gets nothing. */
export const AWAITED_STATUSES = ['approved', 'sent'] as const;

export const PREPARATION_CHECKLIST = [
  'Clear the receiving area',
  'Have the purchase order at hand to verify items and quantities',
  'Check refrigerated and frozen storage has room for perishables',
  'Prepare to record lot numbers and expiry dates',
] as const;

const ALERT_SPECS: Record<
  DeliveryAlertType,
  { severity: AlertSeverity; priority_score: number; alert_class: AlertClass; domain: AlertDomain }
> = {
  DELIVERY_ARRIVING_SOON: {
    severity: 'medium',
    priority_score: 70,
    alert_class: 'action_needed',
    domain: 'supply_chain',
  },
  DELIVERY_OVERDUE: {
    severity: 'critical',
    priority_score: 95,
    alert_class: 'critical',
    domain: 'supply_chain',
  },
  STOCK_RECEIPT_INCOMPLETE: {
    severity: 'high',
    priority_score: 80,
    alert_class: 'action_needed',
    domain: 'inventory',
  },
};

/** The instants the rules compare `now` against. */
export interface DeliveryTimes {
  expected: Date;
  windowStart: Date;
  windowEnd: Date;
}

/** A missing window means the supplier promised one instant: the window is that instant. */
export function deliveryTimesOf(po: TrackedPurchaseOrder): DeliveryTimes {
  const expected = new Date(po.expected_delivery_date);
  const windowStart = po.delivery_window ? new Date(po.delivery_window.start) : expected;
  const windowEnd = po.delivery_window ? new Date(po.delivery_window.end) : expected;
  return { expected, windowStart, windowEnd };
}

/** The alert types whose condition holds at `now`, ignoring what was already sent. */
export function dueAlertTypes(po: TrackedPurchaseOrder, now: Date): DeliveryAlertType[] {
  const awaited = (AWAITED_STATUSES as readonly string[]).includes(po.status);
  if (!awaited || po.receipt.status === 'confirmed') return [];
  const { expected, windowEnd } = deliveryTimesOf(po);
  const t = now.getTime();
  const due: DeliveryAlertType[] = [];
  if (t >= expected.getTime() - ARRIVING_SOON_LEAD_MS && t < windowEnd.getTime()) {
    due.push('DELIVERY_ARRIVING_SOON');
  }
  // "received" is a confirmed receipt (procurement then marks the order received); a
  // draft is a receipt still being counted, so the delivery is not done yet
  if (t >= windowEnd.getTime() + OVERDUE_GRACE_MS) {
    due.push('DELIVERY_OVERDUE');
  }
  if (t >= windowEnd.getTime() + RECEIPT_INCOMPLETE_AFTER_MS) {
    due.push('STOCK_RECEIPT_INCOMPLETE');
  }
  return due;
}

/**
 * The alerts to send now for one order: those due whose (type, expected delivery) was not
 * sent yet. Keyed on the expected delivery, so a rescheduled order is alerted afresh for
 * its new window and never again for the old one.
 */
export function decideDeliveryAlerts(
  po: TrackedPurchaseOrder,
  now: Date,
  sent: readonly SentDeliveryAlert[],
): DeliveryAlertDecision[] {
  const times = deliveryTimesOf(po);
  if (Number.isNaN(times.expected.getTime()) || Number.isNaN(times.windowEnd.getTime())) return [];
  const version = times.expected.getTime();
  const already = new Set(
    sent.filter((s) => s.expected_delivery.getTime() === version).map((s) => s.alert_type),
  );
  return dueAlertTypes(po, now)
    .filter((type) => !already.has(type))
    .map((type) => buildDecision(type, po, times, now));
}

function buildDecision(
  type: DeliveryAlertType,
  po: TrackedPurchaseOrder,
  times: DeliveryTimes,
  now: Date,
): DeliveryAlertDecision {
  const delayMs = now.getTime() - times.windowEnd.getTime();
  const context: DeliveryAlertContext = {
    po_number: po.po_number,
    supplier_name: po.supplier.name,
    expected_delivery: times.expected.toISOString(),
    delivery_window: {
      start: times.windowStart.toISOString(),
      end: times.windowEnd.toISOString(),
    },
    delay_minutes: delayMs > 0 ? Math.floor(delayMs / MINUTE_MS) : 0,
    items_count: po.line_items.length,
  };
  if (type === 'DELIVERY_ARRIVING_SOON') {
    context.minutes_until_delivery = Math.max(
      0,
      Math.ceil((times.expected.getTime() - now.getTime()) / MINUTE_MS),
    );
    context.preparation_checklist = [...PREPARATION_CHECKLIST];
  }
  if (type === 'DELIVERY_OVERDUE') {
    context.suggested_actions = [
      'Contact the supplier',
      'Check whether the delivery was rescheduled',
      'Activate a backup supplier if needed',
      'Adjust the production plan if the ingredients are critical',
    ];
  }
  if (type === 'STOCK_RECEIPT_INCOMPLETE') {
    context.receipt_status = po.receipt.status;
  }
  return {
    type,
    purchase_order_id: po.id,
    expected_delivery: times.expected,
    ...ALERT_SPECS[type],
    smart_actions: smartActionsFor(type, po),
    context,
  };
}

function smartActionsFor(type: DeliveryAlertType, po: TrackedPurchaseOrder): SmartAction[] {
  const receiptTarget = { purchase_order_id: po.id, po_number: po.po_number };
  const openReceipt = (mode: 'create' | 'edit'): SmartAction => ({
    action_type: 'open_stock_receipt_modal',
    label: mode === 'edit' ? 'Complete the stock receipt' : 'Record the stock receipt',
    metadata:
      mode === 'edit'
        ? { ...receiptTarget, mode, receipt_id: po.receipt.receipt_id ?? null }
        : { ...receiptTarget, mode },
  });
  // a draft means someone started the receipt: reopen it rather than start a second one
  const receiptMode = po.receipt.status === 'draft' ? 'edit' : 'create';
  switch (type) {
    case 'DELIVERY_ARRIVING_SOON':
      return [openReceipt('create')];
    case 'DELIVERY_OVERDUE':
      return [
        {
          action_type: 'contact_supplier',
          label: `Contact ${po.supplier.name}`,
          metadata: {
            supplier_id: po.supplier.id ?? null,
            supplier_name: po.supplier.name,
            phone: po.supplier.phone ?? null,
            email: po.supplier.email ?? null,
            po_number: po.po_number,
          },
        },
        openReceipt(receiptMode),
      ];
    case 'STOCK_RECEIPT_INCOMPLETE':
      return [openReceipt(receiptMode)];
  }
}
