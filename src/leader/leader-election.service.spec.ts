import { Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { Clock } from 'src/common/time/clock';
import { LeaderElectionService } from './leader-election.service';
import { AcquireOutcome, ExtendOutcome, LeaderLock } from './leader-lock';
import { LeaderSettings } from './leader-settings';
import { LeaderRepository, TermClaim } from './leader.repository';

/**
 * Follows Jest's fake Date, plus `stall(ms)`: time that passes without any timer firing,
 * as when the event loop is blocked.
 */
class TestClock extends Clock {
  private stalledMs = 0;
  now(): Date {
    return new Date(Date.now() + this.stalledMs);
  }
  stall(ms: number): void {
    this.stalledMs += ms;
  }
}

class FakeLock extends LeaderLock {
  available = true;
  onAcquire: () => Promise<AcquireOutcome> = async () => 'acquired';
  onExtend: () => Promise<ExtendOutcome> = async () => 'extended';
  readonly calls: string[] = [];
  private wakeListener: (() => void) | null = null;

  isAvailable(): boolean {
    return this.available;
  }
  describeUnavailability(): string {
    return 'redis unreachable: connect ECONNREFUSED 127.0.0.1:6379';
  }
  acquire(ttlMs: number): Promise<AcquireOutcome> {
    this.calls.push(`acquire ${ttlMs}`);
    return this.onAcquire();
  }
  extend(ttlMs: number): Promise<ExtendOutcome> {
    this.calls.push(`extend ${ttlMs}`);
    return this.onExtend();
  }
  async release(): Promise<void> {
    this.calls.push('release');
  }
  onWake(listener: () => void): void {
    this.wakeListener = listener;
  }
  wake(): void {
    this.wakeListener?.();
  }
  async close(): Promise<void> {
    this.calls.push('close');
  }
  count(prefix: string): number {
    return this.calls.filter((c) => c.startsWith(prefix)).length;
  }
}

/** orchestrator_leader in memory, with the repository's semantics. */
class FakeLeaderTable {
  term = 0;
  holder: string | null = null;
  lastHeartbeatAt = new Date(0);
  failClaims: Error | null = null;

  asRepository(): LeaderRepository {
    return {
      claimTerm: async (claim: TermClaim) => {
        if (this.failClaims) throw this.failClaims;
        if (
          claim.onlyIfHeartbeatBefore &&
          this.holder &&
          this.lastHeartbeatAt >= claim.onlyIfHeartbeatBefore
        )
          return null;
        this.term += 1;
        this.holder = claim.instanceId;
        this.lastHeartbeatAt = claim.now;
        return String(this.term);
      },
      recordHeartbeat: async (instanceId: string, term: string, now: Date) => {
        if (instanceId !== this.holder || term !== String(this.term)) return false;
        this.lastHeartbeatAt = now;
        return true;
      },
      findCurrent: async () => null,
    } as unknown as LeaderRepository;
  }

  /** Another instance takes a newer term behind our back. */
  takeOver(instanceId: string, now: Date): void {
    this.term += 1;
    this.holder = instanceId;
    this.lastHeartbeatAt = now;
  }
}

const TTL_S = 3;
const HEARTBEAT_S = 1;
// leaderTimings(3, 1): drift 32 ms, safety margin 300 ms, validity 2668 ms
const VALIDITY_MS = 2668;

function electionSettings(): LeaderSettings {
  return new LeaderSettings(
    'election',
    null,
    'redis://127.0.0.1:6379',
    'test:leader:lock',
    TTL_S,
    HEARTBEAT_S,
    'host-a',
    'host-a_0001',
  );
}

function singleSettings(): LeaderSettings {
  return new LeaderSettings(
    'single-instance',
    'REDIS_URL is not set',
    null,
    'test:leader:lock',
    TTL_S,
    HEARTBEAT_S,
    'host-a',
    'host-a_0001',
  );
}

async function gaugeValue(gauge: Gauge<string>): Promise<number | undefined> {
  const { values } = await gauge.get();
  return values.find((v) => v.labels.instance_id === 'host-a_0001')?.value;
}

describe(LeaderElectionService.name, () => {
  let clock: TestClock;
  let lock: FakeLock;
  let table: FakeLeaderTable;
  let gauge: Gauge<string>;
  let service: LeaderElectionService;

  const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2025-03-30T00:00:00Z') });
    clock = new TestClock();
    lock = new FakeLock();
    table = new FakeLeaderTable();
    gauge = new Gauge({
      name: 'orchestrator_leader_instance',
      help: 'test',
      labelNames: ['instance_id'],
      registers: [],
    });
  });

  afterEach(async () => {
    await service?.stop();
    jest.useRealTimers();
  });

  function election(): LeaderElectionService {
    service = new LeaderElectionService(
      electionSettings(),
      clock,
      table.asRepository(),
      lock,
      gauge,
    );
    return service;
  }

  describe('election mode', () => {
    it('leads under a fresh term once it holds the lock', async () => {
      await election().start();

      expect(service.isLeader()).toBe(true);
      expect(service.term()).toBe('1');
      expect(table.holder).toBe('host-a_0001');
      expect(lock.calls).toEqual([`acquire ${TTL_S * 1000}`]);
      expect(await gaugeValue(gauge)).toBe(1);
    });

    it('hands the term to runIfLeader', async () => {
      table.term = 41;
      await election().start();

      const outcome = await service.runIfLeader(async (term) => `claimed with ${term}`);

      expect(outcome).toEqual({ ran: true, value: 'claimed with 42' });
    });

    it('stays a follower while another instance holds the lock, retrying every heartbeat', async () => {
      lock.onAcquire = async () => 'held-elsewhere';
      await election().start();
      const fn = jest.fn();

      expect(await service.runIfLeader(fn)).toEqual({ ran: false });
      expect(fn).not.toHaveBeenCalled();
      expect(service.status()).toEqual(
        expect.objectContaining({ role: 'follower', reason: 'another instance holds the lock' }),
      );
      await advance(HEARTBEAT_S * 1000);
      expect(lock.count('acquire')).toBe(2);
      expect(table.term).toBe(0);
      expect(await gaugeValue(gauge)).toBe(0);
    });

    it('renews the lock every heartbeat and records the heartbeat under its term', async () => {
      await election().start();
      const before = table.lastHeartbeatAt;

      await advance(HEARTBEAT_S * 1000 * 3);

      expect(lock.count('extend')).toBe(3);
      expect(service.isLeader()).toBe(true);
      expect(table.lastHeartbeatAt.getTime()).toBe(before.getTime() + 3000);
    });

    it('stays leader across renewals for longer than one TTL', async () => {
      await election().start();
      await advance(TTL_S * 1000 * 4);
      expect(service.isLeader()).toBe(true);
      expect(service.term()).toBe('1');
    });

    it('steps down at once when a renewal fails', async () => {
      await election().start();
      lock.onExtend = async () => {
        throw new Error('Connection is closed.');
      };

      await advance(HEARTBEAT_S * 1000);

      expect(service.isLeader()).toBe(false);
      expect(service.status().reason).toBe('lock renewal failed: Connection is closed.');
      expect(lock.calls.at(-1)).toBe('release');
      expect(await gaugeValue(gauge)).toBe(0);
    });

    it('steps down before the lock can expire when Redis never answers a renewal', async () => {
      await election().start();
      lock.onExtend = () => new Promise<ExtendOutcome>(() => undefined);

      await advance(VALIDITY_MS - 1);
      expect(service.isLeader()).toBe(true);

      await advance(1);
      expect(service.isLeader()).toBe(false);
      expect(service.status().reason).toMatch(/lock validity ran out|lock renewal failed/);
      // the lock itself lives TTL_S seconds minus Redlock's drift allowance from the acquire
      expect(VALIDITY_MS).toBeLessThan(TTL_S * 1000 - 32);
    });

    it('does not act on its lock once the clock says the validity ran out, even if no timer fired', async () => {
      await election().start();
      const fn = jest.fn();

      clock.stall(VALIDITY_MS);

      expect(await service.runIfLeader(fn)).toEqual({ ran: false });
      expect(fn).not.toHaveBeenCalled();
      expect(service.term()).toBeNull();
    });

    it('steps down when a renewal finds the lock is no longer its own', async () => {
      await election().start();
      lock.onExtend = async () => 'lost';

      await advance(HEARTBEAT_S * 1000);

      expect(service.isLeader()).toBe(false);
      expect(service.status().reason).toContain('lock lost');
    });

    it('steps down and lets the lock go when the table records a newer term', async () => {
      await election().start();
      table.takeOver('host-b_0002', clock.now());

      await advance(HEARTBEAT_S * 1000);

      expect(service.isLeader()).toBe(false);
      expect(service.status().reason).toBe('a newer term is recorded in orchestrator_leader');
      expect(lock.calls.at(-1)).toBe('release');
    });

    it('does not lead without a term, and gives the lock back', async () => {
      table.failClaims = new Error('connect ECONNREFUSED 127.0.0.1:5432');
      await election().start();

      expect(service.isLeader()).toBe(false);
      expect(service.status().reason).toBe(
        'database unavailable: connect ECONNREFUSED 127.0.0.1:5432',
      );
      expect(lock.calls).toEqual([`acquire ${TTL_S * 1000}`, 'release']);
    });

    it('says Redis is unreachable and sends nothing while the connection is down', async () => {
      lock.available = false;
      await election().start();
      await advance(HEARTBEAT_S * 1000 * 2);

      expect(lock.calls).toEqual([]);
      expect(service.status()).toEqual(
        expect.objectContaining({
          role: 'follower',
          reason: 'redis unreachable: connect ECONNREFUSED 127.0.0.1:6379',
        }),
      );
    });

    it('tries at once, not at the next heartbeat, when woken by a release', async () => {
      lock.onAcquire = async () => 'held-elsewhere';
      await election().start();
      lock.onAcquire = async () => 'acquired';

      lock.wake();
      await advance(0);

      expect(service.isLeader()).toBe(true);
      expect(lock.count('acquire')).toBe(2);
    });

    it('releases the lock on shutdown and stops trying', async () => {
      await election().start();

      await service.stop();
      await advance(HEARTBEAT_S * 1000 * 5);

      expect(lock.calls).toEqual([`acquire ${TTL_S * 1000}`, 'release']);
      expect(service.status()).toEqual(
        expect.objectContaining({ role: 'follower', reason: 'shutting down' }),
      );
      expect(await gaugeValue(gauge)).toBe(0);
    });

    it('a follower that becomes leader after stepping down takes a new term', async () => {
      await election().start();
      lock.onExtend = async () => {
        throw new Error('timeout');
      };
      await advance(HEARTBEAT_S * 1000);
      expect(service.isLeader()).toBe(false);

      await advance(HEARTBEAT_S * 1000);

      expect(service.isLeader()).toBe(true);
      expect(service.term()).toBe('2');
    });
  });

  describe('single-instance mode', () => {
    function single(): LeaderElectionService {
      service = new LeaderElectionService(
        singleSettings(),
        clock,
        table.asRepository(),
        null,
        gauge,
      );
      return service;
    }

    it('leads alone under a term, and says why', async () => {
      await single().start();

      expect(service.status()).toEqual(
        expect.objectContaining({
          mode: 'single-instance',
          role: 'leader',
          term: '1',
          reason: 'single-instance mode: REDIS_URL is not set',
        }),
      );
      await advance(TTL_S * 1000 * 10);
      expect(service.isLeader()).toBe(true);
      expect(table.lastHeartbeatAt.getTime()).toBe(clock.now().getTime());
    });

    it('yields to a newer term and takes over again only once that leader stops heartbeating', async () => {
      await single().start();
      table.takeOver('host-b_0002', clock.now());

      await advance(HEARTBEAT_S * 1000);
      expect(service.isLeader()).toBe(false);

      // the other instance keeps heartbeating: stay out
      table.lastHeartbeatAt = clock.now();
      await advance(HEARTBEAT_S * 1000 * 2);
      expect(service.isLeader()).toBe(false);

      // and then goes silent for longer than the TTL
      await advance(TTL_S * 1000 + HEARTBEAT_S * 1000);
      expect(service.isLeader()).toBe(true);
      expect(service.term()).toBe('3');
    });

    it('retries while the database is unavailable at start', async () => {
      table.failClaims = new Error('database is starting up');
      await single().start();
      expect(service.isLeader()).toBe(false);

      table.failClaims = null;
      await advance(HEARTBEAT_S * 1000);

      expect(service.isLeader()).toBe(true);
    });
  });
});
