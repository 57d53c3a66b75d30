import { LeaderGate } from 'src/common/jobs/leader-gate';

/** A LeaderGate tests can flip: `gate.lead('7')`, `gate.follow()`. For unit tests of leader-only code. */
export class FakeLeaderGate extends LeaderGate {
  private currentTerm: string | null;

  constructor(
    term: string | null = '1',
    private readonly id = 'test-instance',
  ) {
    super();
    this.currentTerm = term;
  }

  lead(term: string): void {
    this.currentTerm = term;
  }

  follow(): void {
    this.currentTerm = null;
  }

  isLeader(): boolean {
    return this.currentTerm !== null;
  }

  term(): string | null {
    return this.currentTerm;
  }

  instanceId(): string {
    return this.id;
  }

  async runIfLeader<T>(
    fn: (term: string) => Promise<T>,
  ): Promise<{ ran: true; value: T } | { ran: false }> {
    if (this.currentTerm === null) return { ran: false };
    return { ran: true, value: await fn(this.currentTerm) };
  }
}
