/**
 * Fencing for writes that only the leader may make. Redlock decides who *tries*; this
 * condition decides what *happens*: the statement matches only while the term it carries
 * is still the newest one recorded in orchestrator_leader. A leader that was paused past
 * its lock and replaced (a newer term was taken) therefore changes nothing.
 *
 * Use it inside the same statement as the write, never as a separate check:
 *
 * ```sql
 * UPDATE orchestrator_workflows SET next_execution_at = $1
 *  WHERE id = $2 AND next_execution_at = $3 AND ${fencingCondition('$4')}
 * ```
 */
export function fencingCondition(termPlaceholder: string): string {
  return `(SELECT l.term FROM orchestrator_leader l WHERE l.id = 1) = CAST(${termPlaceholder} AS BIGINT)`;
}
