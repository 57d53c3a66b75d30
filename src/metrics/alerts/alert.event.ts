import { ORCHESTRATOR_EXCHANGE } from 'src/events/event-contracts';

export { ORCHESTRATOR_EXCHANGE };
/** Routing keys of the orchestrator's alerts about itself (exchange `orchestrator`). */
export const ORCHESTRATOR_ALERT = 'orchestrator.alert';
export const ORCHESTRATOR_ALERT_RESOLVED = 'orchestrator.alert_resolved';

export type AlertKind =
  | 'run_failed'
  | 'consecutive_failures'
  | 'slow_run'
  | 'slot_missed'
  | 'deadline_missed'
  | 'dead_mans_switch'
  /** one tenant's failure streak in a run that otherwise completed (condition per tenant) */
  | 'tenant_failing'
  /** more tenants failed in one completed run than get an alert each */
  | 'tenant_failures'
  /** this instance's clock is off the database's by more than CLOCK_SKEW_MAX_SECONDS */
  | 'clock_skew'
  /** events the broker returned (no queue bound) and not delivered since (condition per exchange) */
  | 'events_unroutable';

export type AlertSeverity = 'warning' | 'critical';

/** Published once when a condition starts (outbox, same transaction as the alert row). */
export interface OrchestratorAlertEvent {
  event_id: string;
  event_type: 'orchestrator_alert';
  alert_id: string;
  condition: string;
  kind: AlertKind;
  severity: AlertSeverity;
  workflow_name: string | null;
  message: string;
  details: Record<string, unknown>;
  opened_at: string;
  timestamp: string;
}

/** Published once when the next success clears it. */
export interface OrchestratorAlertResolvedEvent {
  event_id: string;
  event_type: 'orchestrator_alert_resolved';
  alert_id: string;
  condition: string;
  kind: AlertKind;
  workflow_name: string | null;
  reason: string;
  opened_at: string;
  cleared_at: string;
  timestamp: string;
}
