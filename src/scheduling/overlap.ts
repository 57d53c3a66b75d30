import type { OverlapPolicy } from './slot-planner';

/**
 * Which overlap policy applies to a due slot while a previous run is unfinished (pure).
 *
 * `skip` is meant for a run that is simply too long for its period: its next slot would
 * only pile up behind it. A run that is late because of an outage is another matter:
 * skipping its next slot would turn the outage into a lost day. So under `skip` the slot
 * waits instead (as under `buffer_one`: it starts once the previous run has ended, if that
 * is still within its catch-up window) when there is evidence the run was interrupted:
 *
 * 1. **leadership changed during the run**: this scheduler's term began after the run
 *    started (the leader died, was paused past its lock, lost Redis or was restarted);
 * 2. **the database was unreachable during the run**: this scheduler failed to read the
 *    schedule at or after the run's start;
 * 3. **a runner was interrupted**: one of the run's tenant leases has lapsed without
 *    another instance having taken it over yet.
 *
 * Evidence is judged on the database clock (the run's started_at, the leader's start and
 * the failed read are all on it). `buffer_one` and `allow` are never changed.
 */
export interface OverlapInput {
  policy: OverlapPolicy;
  run: { executionId: string; startedAt: Date; leaseLapsed: boolean } | null;
  /** when this scheduler's current term began */
  leaderSince: Date | null;
  /** the last time this scheduler could not read the schedule from the database */
  databaseUnreachableAt: Date | null;
}

export interface OverlapDecision {
  runInProgress: boolean;
  /** the unfinished run, when there is one */
  runId: string | null;
  /** the policy planDueEvents applies */
  policy: OverlapPolicy;
  /** why a `skip` became a wait, for the log; null when the policy is the workflow's own */
  outage: string | null;
}

export function decideOverlap(input: OverlapInput): OverlapDecision {
  const { policy, run } = input;
  if (!run) return { runInProgress: false, runId: null, policy, outage: null };
  const runId = run.executionId;
  if (policy !== 'skip') return { runInProgress: true, runId, policy, outage: null };
  const outage = outageDuring(input, run);
  return outage
    ? { runInProgress: true, runId, policy: 'buffer_one', outage }
    : { runInProgress: true, runId, policy: 'skip', outage: null };
}

function outageDuring(
  input: OverlapInput,
  run: { startedAt: Date; leaseLapsed: boolean },
): string | null {
  const started = run.startedAt.getTime();
  if (input.leaderSince && input.leaderSince.getTime() > started) {
    return `leadership changed during the run (this term began ${input.leaderSince.toISOString()}, the run started ${run.startedAt.toISOString()})`;
  }
  if (input.databaseUnreachableAt && input.databaseUnreachableAt.getTime() >= started) {
    return `the database was unreachable during the run (at ${input.databaseUnreachableAt.toISOString()})`;
  }
  if (run.leaseLapsed) return "a tenant's lease lapsed during the run (its runner was interrupted)";
  return null;
}
