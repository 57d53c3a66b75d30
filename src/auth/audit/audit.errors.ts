import { AppError } from 'src/common/errors/app-error';

export enum AuditErrorCode {
  InvalidQuery = 'AUDIT_INVALID_QUERY',
}

export class AuditError extends AppError<AuditErrorCode> {
  static invalidCursor(): AuditError {
    return new AuditError(
      AuditErrorCode.InvalidQuery,
      'cursor is not a next_cursor value from a previous page',
      [{ field: 'cursor', message: 'not a next_cursor value from a previous page' }],
    );
  }

  static invalidRange(): AuditError {
    return new AuditError(AuditErrorCode.InvalidQuery, 'from must be before to', [
      { field: 'from', message: 'must be before to' },
    ]);
  }
}
