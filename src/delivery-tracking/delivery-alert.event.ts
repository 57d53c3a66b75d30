import {
  AlertClass,
  AlertDomain,
  AlertSeverity,
  DeliveryAlertContext,
  DeliveryAlertDecision,
  DeliveryAlertType,
  SmartAction,
} from './delivery-rules';

/**
 * A delivery alert on the `supply_chain.alerts` topic exchange: the fields of the
 * specification's `alerts_client.publish_alert(...)` call plus `event_id` (consumers
 * deduplicate on it), the alert class, domain and smart actions.
 */
export interface DeliveryAlertEvent {
  event_id: string;
  tenant_id: string;
  event_type: DeliveryAlertType;
  entity_type: 'purchase_order';
  entity_id: string;
  severity: AlertSeverity;
  priority_score: number;
  alert_class: AlertClass;
  domain: AlertDomain;
  smart_actions: SmartAction[];
  context: DeliveryAlertContext;
  timestamp: string;
}

/** `alert.delivery_arriving_soon`, `alert.delivery_overdue`, `alert.stock_receipt_incomplete`. */
export function deliveryAlertRoutingKey(type: DeliveryAlertType): string {
  return `alert.${type.toLowerCase()}`;
}

export function buildDeliveryAlertEvent(
  decision: DeliveryAlertDecision,
  tenantId: string,
  eventId: string,
  now: Date,
): DeliveryAlertEvent {
  return {
    event_id: eventId,
    tenant_id: tenantId,
    event_type: decision.type,
    entity_type: 'purchase_order',
    entity_id: decision.purchase_order_id,
    severity: decision.severity,
    priority_score: decision.priority_score,
    alert_class: decision.alert_class,
    domain: decision.domain,
    smart_actions: decision.smart_actions,
    context: decision.context,
    timestamp: now.toISOString(),
  };
}
