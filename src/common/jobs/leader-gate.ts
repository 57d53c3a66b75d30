/**
 * Who may schedule. Implemented by the leader module (Redlock + fencing term, or
 * single-instance mode). Redlock only decides who *tries*: every slot claim also carries
 * `term()` and the database refuses a claim from an older term.
 */
export abstract class LeaderGate {
  abstract isLeader(): boolean;
  /** The fencing term this instance holds while leader, as a decimal string; null when follower. */
  abstract term(): string | null;
  abstract instanceId(): string;
  /** Runs fn only while this instance leads; returns { ran: false } otherwise. */
  abstract runIfLeader<T>(
    fn: (term: string) => Promise<T>,
  ): Promise<{ ran: true; value: T } | { ran: false }>;
}
