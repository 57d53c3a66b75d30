const CHANGE = Symbol('orchestrator:audit-change');

export interface AuditChange {
  before?: unknown;
  after?: unknown;
  /** what was changed, when the route's parameters do not say it well (default: the params) */
  target?: string;
}

/**
 * Hands the state before and after an update to the audit row of this request. A
 * controller calls it with what its facade returned, e.g.
 * `noteAuditChange(req, await this.workflows.update(id, dto))`. Without it the row's
 * `after` is the response body and `before` is empty.
 */
export function noteAuditChange(req: object, change: AuditChange): void {
  (req as Record<symbol, AuditChange>)[CHANGE] = change;
}

export function auditChangeOf(req: object): AuditChange | undefined {
  return (req as Record<symbol, AuditChange | undefined>)[CHANGE];
}
