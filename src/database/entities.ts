import { AuditEntryEntity } from 'src/auth/audit/audit-entry.entity';
import { DeliveryAlertEntity } from 'src/delivery-tracking/delivery-alert.entity';
import { DeliveryRunEntity } from 'src/delivery-tracking/delivery-run.entity';
import { OutboxEventEntity } from 'src/events/outbox-event.entity';
import { ExecutionLogEntity } from 'src/executions/execution-log.entity';
import { ExecutionStepEntity } from 'src/executions/execution-step.entity';
import { ExecutionEntity } from 'src/executions/execution.entity';
import { LeaderEntity } from 'src/leader/leader.entity';
import { AlertEntity } from 'src/metrics/alerts/alert.entity';
import { DeadlineResultEntity } from 'src/metrics/alerts/deadline-result.entity';
import { DailyMetricEntity } from 'src/metrics/daily-metric.entity';
import { ExecutionCostEntity } from 'src/metrics/execution-cost.entity';
import { WorkflowEntity } from 'src/workflows/workflow.entity';

/** Every entity, each owned by its module (docs/architecture.md "Layout"). */
export const ENTITIES = [
  WorkflowEntity,
  ExecutionEntity,
  ExecutionStepEntity,
  ExecutionLogEntity,
  LeaderEntity,
  DailyMetricEntity,
  OutboxEventEntity,
  DeliveryAlertEntity,
  DeliveryRunEntity,
  AuditEntryEntity,
  ExecutionCostEntity,
  AlertEntity,
  DeadlineResultEntity,
];
