export enum OutboxErrorCode {
  /** the caller built a message the relay could never publish; refused at write time */
  InvalidMessage = 'OUTBOX_INVALID_MESSAGE',
}

/**
 * A programming error in the caller, not user input: deliberately not an AppError, so
 * one that reaches HTTP is a logged 500 with an errorId rather than a 400.
 */
export class OutboxError extends Error {
  constructor(
    readonly code: OutboxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OutboxError';
  }

  static invalidMessage(index: number, problem: string): OutboxError {
    return new OutboxError(OutboxErrorCode.InvalidMessage, `outbox message ${index}: ${problem}`);
  }
}
