import { CronExpressionParser } from 'cron-parser';

export interface SwitchInput {
  workflowName: string;
  isEnabled: boolean;
  cronExpression: string | null;
  timezone: string;
  /** when the workflow was last changed: a just (re)configured workflow gets a full period */
  updatedAt: Date;
  /** the newest completed run or planned (calendar) skip */
  lastHeartbeatAt: Date | null;
}

export interface SwitchState {
  workflow_name: string;
  period_seconds: number;
  grace_seconds: number;
  last_heartbeat_at: string | null;
  due_by: string;
  overdue_seconds: number;
  triggered: boolean;
}

/**
 * The dead man's switch of one workflow (pure): it trips when the workflow has not
 * completed a run (nor recorded a planned calendar skip) for longer than its period plus
 * the grace. The period is the gap between its last two cron slots before `now`, in its
 * timezone, so Friday → Monday counts as three days for a weekday schedule rather than
 * tripping on Saturday. Disabled workflows and those without a cron have no switch.
 */
export function deadMansSwitch(
  w: SwitchInput,
  now: Date,
  graceSeconds: number,
): SwitchState | null {
  if (!w.isEnabled || !w.cronExpression) return null;
  let last: Date;
  let previous: Date;
  try {
    const it = CronExpressionParser.parse(w.cronExpression, { tz: w.timezone, currentDate: now });
    last = it.prev().toDate();
    previous = it.prev().toDate();
  } catch {
    return null; // a one-off or unparsable schedule: nothing is expected regularly
  }
  const periodMs = last.getTime() - previous.getTime();
  const since = new Date(Math.max(w.lastHeartbeatAt?.getTime() ?? 0, w.updatedAt.getTime(), 0));
  const dueBy = new Date(since.getTime() + periodMs + graceSeconds * 1000);
  const overdueMs = now.getTime() - dueBy.getTime();
  return {
    workflow_name: w.workflowName,
    period_seconds: Math.round(periodMs / 1000),
    grace_seconds: graceSeconds,
    last_heartbeat_at: w.lastHeartbeatAt?.toISOString() ?? null,
    due_by: dueBy.toISOString(),
    overdue_seconds: Math.max(0, Math.round(overdueMs / 1000)),
    triggered: overdueMs > 0 && since.getTime() < last.getTime(),
  };
}
