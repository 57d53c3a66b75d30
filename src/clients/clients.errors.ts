/** Errors of the clients module that are not a downstream failure (those are UpstreamError). */
export enum ClientsErrorCode {
  /** a step names an operation no client implements */
  UNKNOWN_OPERATION = 'CLIENTS_UNKNOWN_OPERATION',
  /** a step's params cannot make a valid request (e.g. days_ahead: "seven") */
  INVALID_PARAMS = 'CLIENTS_INVALID_PARAMS',
}

export class ClientsError extends Error {
  constructor(
    readonly code: ClientsErrorCode,
    message: string,
    /** a configuration problem: retrying the same step will not help */
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'ClientsError';
  }
}
