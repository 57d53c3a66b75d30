import type { ExecutionLogEntity } from './execution-log.entity';
import type { ExecutionStepEntity } from './execution-step.entity';
import type { ExecutionEntity } from './execution.entity';
import { tierOfPriority } from './tenant-order';

/** The specification's execution fields, plus what the additions make visible. */
export function toExecutionView(e: ExecutionEntity) {
  return {
    id: e.id,
    workflow_id: e.workflowId,
    workflow_name: e.workflowName,
    execution_type: e.executionType,
    triggered_by: e.triggeredBy,
    tenant_id: e.tenantId,
    // the tenant's subscription tier when it was claimed (its claim priority), for filters
    tier: e.tenantId ? tierOfPriority(e.priority) : null,
    status: e.status,
    started_at: e.startedAt,
    completed_at: e.completedAt,
    duration_seconds: e.durationSeconds,
    steps_completed: e.stepsCompleted,
    steps_total: e.stepsTotal,
    steps_failed: e.stepsFailed,
    error_message: e.errorMessage,
    result_summary: e.resultSummary,
    executed_by_instance: e.executedByInstance,
    created_at: e.createdAt,
    parent_execution_id: e.parentExecutionId,
    scheduled_for: e.scheduledFor,
    retry_of_execution_id: e.retryOfExecutionId,
    attempt: e.attempt,
    next_attempt_at: e.nextAttemptAt,
    deadline_at: e.deadlineAt,
  };
}

export type ExecutionView = ReturnType<typeof toExecutionView>;

export function toStepView(s: ExecutionStepEntity) {
  return {
    name: s.stepName,
    index: s.stepIndex,
    status: s.status,
    attempts: s.attempts,
    started_at: s.startedAt,
    completed_at: s.completedAt,
    error_message: s.errorMessage,
    // "Generated 42 forecasts" and its figures; the full answer stays in the row's result
    result_summary: s.resultSummary ?? null,
  };
}

export function toLogView(l: ExecutionLogEntity) {
  return {
    id: l.id,
    execution_id: l.executionId,
    step_name: l.stepName,
    step_index: l.stepIndex,
    log_level: l.logLevel,
    log_message: l.logMessage,
    log_data: l.logData,
    logged_at: l.loggedAt,
  };
}

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { at: Date; id: string } | null {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const at = new Date(iso ?? '');
  if (!id || Number.isNaN(at.getTime()) || !/^[0-9a-f-]{36}$/i.test(id)) return null;
  return { at, id };
}
