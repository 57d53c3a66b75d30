export enum LeaderErrorCode {
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
