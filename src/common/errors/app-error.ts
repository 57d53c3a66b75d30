/**
 * Every error a caller can cause carries a code; the suffix decides the HTTP status
 * (docs/conventions.md "Errors"): *_NOT_FOUND 404, *_INVALID* 400, *_CONFLICT 409,
 * *_FORBIDDEN 403, *_UNPROCESSABLE 422. Anything without a code is a 500 with an errorId. A module's subclass
 * names its code enum (`extends AppError<WorkflowErrorCode>`), so it carries only its own.
 */
export class AppError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    /** field-level problems for 400s: `{ field: 'steps[2].depends_on', message: '...' }` */
    readonly details?: { field: string; message: string }[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export function httpStatusFor(code: string): number {
  if (code.endsWith('_NOT_FOUND')) return 404;
  if (code.includes('_INVALID')) return 400;
  if (code.endsWith('_CONFLICT')) return 409;
  if (code.endsWith('_FORBIDDEN')) return 403;
  if (code.endsWith('_UNPROCESSABLE')) return 422;
  if (code.endsWith('_UNAVAILABLE')) return 503;
  return 500;
}
