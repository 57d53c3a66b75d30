import { InitialSchema1764460800000 } from './1764460800000-initial-schema';
import { OperatorCommands1765100000000 } from './1765100000000-operator-commands';
import { ExecutionTenantTimezone1765200000000 } from './1765200000000-execution-tenant-timezone';
import { OutboxStatus1765500000000 } from './1765500000000-outbox-status';
import { StepResultSummary1765600000000 } from './1765600000000-step-result-summary';
import { DeliveryTracking1796013900000 } from './1796013900000-delivery-tracking';
import { ExecutionDeadline1796014000000 } from './1796014000000-execution-deadline';
import { AuditLog1796020000000 } from './1796020000000-audit-log';
import { MetricsCost1796020100000 } from './1796020100000-metrics-cost';
import { OrchestratorAlerts1796020200000 } from './1796020200000-orchestrator-alerts';
import { ClaimIndexes1796030000000 } from './1796030000000-claim-indexes';

/** Listed explicitly (not globbed) so the same list works from ts-jest, ts-node and dist. */
export const MIGRATIONS = [
  InitialSchema1764460800000,
  OperatorCommands1765100000000,
  ExecutionTenantTimezone1765200000000,
  OutboxStatus1765500000000,
  StepResultSummary1765600000000,
  DeliveryTracking1796013900000,
  ExecutionDeadline1796014000000,
  AuditLog1796020000000,
  MetricsCost1796020100000,
  OrchestratorAlerts1796020200000,
  ClaimIndexes1796030000000,
];
