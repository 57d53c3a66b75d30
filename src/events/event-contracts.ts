/** Messages the service publishes (exchange + routing key + payload). */
export interface OutboxMessage {
  exchange: string;
  routingKey: string;
  /** JSON payload; the outbox adds `event_id` (a fresh UUID) when absent */
  payload: Record<string, unknown>;
}

export const ORCHESTRATOR_EXCHANGE = 'orchestrator';
export const WORKFLOW_COMPLETED = 'orchestrator.workflow_completed';
export const WORKFLOW_FAILED = 'orchestrator.workflow_failed';
export const SUPPLY_CHAIN_ALERTS_EXCHANGE = 'supply_chain.alerts';

/**
 * The exchanges the relay declares (topic, durable). The outbox refuses messages for any
 * other: publishing to an undeclared exchange would close the channel for every event.
 */
export const OUTBOX_EXCHANGES: readonly string[] = [
  ORCHESTRATOR_EXCHANGE,
  SUPPLY_CHAIN_ALERTS_EXCHANGE,
];

/**
 * The specification's payloads, plus event_id for consumer deduplication. A run is
 * `completed` (workflow_completed, `steps_failed` counted) when at least one tenant
 * completed, even if others failed; `failed` (workflow_failed) when every tenant failed or
 * the run could not start.
 */
export interface WorkflowCompletedEvent {
  event_id: string;
  event_type: 'orchestrator_workflow_completed';
  workflow_name: string;
  execution_id: string;
  tenants_processed: number;
  steps_completed: number;
  /** steps that failed in the run's tenants: > 0 when some tenants failed (the seed's meaning) */
  steps_failed: number;
  /** additions: tenants whose work did not complete (failed or cancelled) and that did */
  tenants_failed: number;
  tenants_succeeded: number;
  duration_seconds: number;
  timestamp: string;
}

export interface WorkflowFailedEvent {
  event_id: string;
  event_type: 'orchestrator_workflow_failed';
  workflow_name: string;
  execution_id: string;
  error_message: string;
  tenants_affected: number;
  timestamp: string;
}
