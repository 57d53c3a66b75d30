export enum LeaderErrorCode {
  /** A leader-only periodic job is defined in a process without a LeaderGate (found at boot). */
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
