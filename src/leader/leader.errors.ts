export enum LeaderErrorCode {
  /** A @LeaderOnly() method sits on a class that does not inject LeaderGate (found at boot). */
  GateMissing = 'LEADER_GATE_MISSING',
  /** The leader record could not be read (database unreachable). */
  StateUnavailable = 'LEADER_STATE_UNAVAILABLE',
}

export class LeaderError extends Error {
  constructor(
    readonly code: LeaderErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LeaderError';
  }
}
