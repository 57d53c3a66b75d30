import { InitialSchema1764460800000 } from './1764460800000-initial-schema';
import { DeliveryTracking1796013900000 } from './1796013900000-delivery-tracking';
import { ExecutionDeadline1796014000000 } from './1796014000000-execution-deadline';
import { AuditLog1796020000000 } from './1796020000000-audit-log';
import { MetricsCost1796020100000 } from './1796020100000-metrics-cost';
import { OrchestratorAlerts1796020200000 } from './1796020200000-orchestrator-alerts';
import { ClaimIndexes1796030000000 } from './1796030000000-claim-indexes';
import { OperatorCommands1796600100000 } from './1796600100000-operator-commands';
import { ExecutionTenantTimezone1796600200000 } from './1796600200000-execution-tenant-timezone';
import { OutboxStatus1796600500000 } from './1796600500000-outbox-status';
import { StepResultSummary1796600600000 } from './1796600600000-step-result-summary';
import { RunStaging1796600700000 } from './1796600700000-run-staging';
import { OverdueIndexPending1796600800000 } from './1796600800000-overdue-index-pending';

/** Listed explicitly (not globbed) so the same list works from ts-jest, ts-node and dist. */
export const MIGRATIONS = [
  InitialSchema1764460800000,
  DeliveryTracking1796013900000,
  ExecutionDeadline1796014000000,
  AuditLog1796020000000,
  MetricsCost1796020100000,
  OrchestratorAlerts1796020200000,
  ClaimIndexes1796030000000,
  OperatorCommands1796600100000,
  ExecutionTenantTimezone1796600200000,
  OutboxStatus1796600500000,
  StepResultSummary1796600600000,
  RunStaging1796600700000,
  OverdueIndexPending1796600800000,
];
