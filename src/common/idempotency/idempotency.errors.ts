import { AppError } from 'src/common/errors/app-error';

export enum IdempotencyErrorCode {
  /** the header itself is malformed (400) */
  KeyInvalid = 'IDEMPOTENCY_KEY_INVALID',
  /** the key was used with another body (422) */
  KeyReused = 'IDEMPOTENCY_KEY_UNPROCESSABLE',
  /** the first request with this key is still being processed (409) */
  InProgress = 'IDEMPOTENCY_KEY_CONFLICT',
}

export class IdempotencyError extends AppError<IdempotencyErrorCode> {}
