import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Gauge } from 'prom-client';
import { Clock } from 'src/common/time/clock';
import { withTimeout } from 'src/common/time/deadline';
import { LeaderGate } from 'src/common/jobs/leader-gate';
import { LeaderLock } from './leader-lock';
import { LeaderMode, LeaderSettings } from './leader-settings';
import { LeaderTimings, leaderTimings } from './leader-timing';
import { LEADER_INSTANCE_METRIC } from './leader.metrics';
import { LeaderRecord, LeaderRepository } from './leader.repository';

export type LeaderRole = 'leader' | 'follower';

/** This instance's view of leadership, for GET /leader, readiness and logs. */
export interface LeaderStatus {
  instanceId: string;
  hostname: string;
  mode: LeaderMode;
  role: LeaderRole;
  /** Why this instance has its role: "holds the lock", "redis unreachable: ...", ... */
  reason: string;
  term: string | null;
  since: Date | null;
}

type LeaderState =
  | { role: 'follower'; reason: string }
  | {
      role: 'leader';
      reason: string;
      term: string;
      since: Date;
      /** Epoch ms from which we no longer act as leader; null in single-instance mode. */
      leadUntilMs: number | null;
    };
type Leading = Extract<LeaderState, { role: 'leader' }>;

const SHUTDOWN_RELEASE_TIMEOUT_MS = 2000;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Leader election: Redlock over a dedicated Redis connection, plus a fencing term taken in
 * orchestrator_leader on every acquisition. The leader renews its lock every heartbeat
 * and stops leading as soon as a renewal fails or the lock's validity (tracked with the
 * injected clock, ending a safety margin before the Redis TTL) runs out, whichever comes
 * first, so it has stopped before any other instance can acquire. Followers try again
 * every heartbeat, and at once when the leader releases on shutdown.
 *
 * Without Redis or with ENABLE_LEADER_ELECTION=false this instance leads alone, still
 * under a term, so the scheduler's fenced writes work the same way in both modes.
 */
@Injectable()
export class LeaderElectionService
  extends LeaderGate
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(LeaderElectionService.name);
  private readonly timings: LeaderTimings;
  private state: LeaderState = { role: 'follower', reason: 'starting' };
  private loopTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | null = null;
  private wakeRequested = false;
  private heartbeatInFlight = false;
  private started = false;
  private stopped = false;
  private loggedFollowerReason: string | null = null;
  /** single-instance mode: a newer term appeared, so take over only once its heartbeat is stale */
  private yieldedToNewerTerm = false;

  constructor(
    private readonly settings: LeaderSettings,
    private readonly clock: Clock,
    private readonly repository: LeaderRepository,
    @Inject(LeaderLock) private readonly lock: LeaderLock | null,
    @InjectMetric(LEADER_INSTANCE_METRIC) private readonly gauge: Gauge<string>,
  ) {
    super();
    this.timings = leaderTimings(settings.ttlSeconds, settings.heartbeatSeconds);
    if (settings.mode === 'election' && !lock) {
      throw new Error('leader election needs a LeaderLock; none was provided');
    }
  }

  // ---- LeaderGate ------------------------------------------------------------------

  isLeader(): boolean {
    const s = this.state;
    if (s.role !== 'leader') return false;
    // checked against the clock on every call, not only by the watchdog timer: a process
    // whose event loop was blocked past its lock's validity must not act on it
    if (s.leadUntilMs !== null && this.nowMs() >= s.leadUntilMs) {
      this.stepDown(s, 'lock validity ran out before it was renewed');
      return false;
    }
    return true;
  }

  term(): string | null {
    return this.isLeader() ? (this.state as Leading).term : null;
  }

  instanceId(): string {
    return this.settings.instanceId;
  }

  async runIfLeader<T>(
    fn: (term: string) => Promise<T>,
  ): Promise<{ ran: true; value: T } | { ran: false }> {
    if (!this.isLeader()) return { ran: false };
    const value = await fn((this.state as Leading).term);
    return { ran: true, value };
  }

  // ---- facade ----------------------------------------------------------------------

  status(): LeaderStatus {
    const leading = this.isLeader();
    const s = this.state;
    return {
      instanceId: this.settings.instanceId,
      hostname: this.settings.hostname,
      mode: this.settings.mode,
      role: leading ? 'leader' : 'follower',
      reason: s.reason,
      term: s.role === 'leader' ? s.term : null,
      since: s.role === 'leader' ? s.since : null,
    };
  }

  /** The leader of record (the row in orchestrator_leader), whoever it is. */
  findLeaderRecord(): Promise<LeaderRecord | null> {
    return this.repository.findCurrent();
  }

  // ---- lifecycle -------------------------------------------------------------------

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  /** Starts the loop and waits for the first attempt, so a lone instance leads once it is up. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.setGauge(0);
    if (this.settings.mode === 'single-instance') {
      this.logger.log({
        msg: `single-instance mode (${this.settings.singleInstanceReason}): this instance is the leader`,
        instanceId: this.settings.instanceId,
      });
    } else {
      this.logger.log({
        msg: 'leader election through Redis',
        instanceId: this.settings.instanceId,
        lockKey: this.settings.lockKey,
        ttlSeconds: this.settings.ttlSeconds,
        heartbeatSeconds: this.settings.heartbeatSeconds,
      });
      this.lock!.onWake(() => this.wake());
    }
    await this.tick();
  }

  /** Before connections close: give the lock up so a follower takes over at once. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.loopTimer);
    clearTimeout(this.watchdog);
    if (this.inFlight) {
      await withTimeout(this.inFlight, SHUTDOWN_RELEASE_TIMEOUT_MS, 'pending election step').catch(
        () => undefined,
      );
    }
    const s = this.state;
    this.state = { role: 'follower', reason: 'shutting down' };
    this.setGauge(0);
    if (s.role !== 'leader') return;
    this.logger.log({ msg: 'leadership released for shutdown', term: s.term });
    if (!this.lock) return;
    try {
      await withTimeout(this.lock.release(), SHUTDOWN_RELEASE_TIMEOUT_MS, 'lock release');
    } catch (err) {
      this.logger.warn({
        msg: 'could not release the leader lock; it expires by itself',
        error: messageOf(err),
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.lock?.close();
  }

  // ---- the loop --------------------------------------------------------------------

  private wake(): void {
    if (!this.started || this.stopped) return;
    if (this.inFlight) {
      this.wakeRequested = true;
      return;
    }
    this.scheduleTick(0);
  }

  private scheduleTick(delayMs: number): void {
    clearTimeout(this.loopTimer);
    this.loopTimer = setTimeout(() => void this.tick(), delayMs);
    this.loopTimer.unref();
  }

  /** One election step; never rejects, never overlaps, always schedules the next one. */
  private tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.inFlight) return this.inFlight;
    const startedAt = this.nowMs();
    this.inFlight = this.step()
      .catch((err) =>
        this.logger.error({ msg: 'leader election step failed', error: messageOf(err) }),
      )
      .finally(() => {
        this.inFlight = null;
        if (this.stopped) return;
        const interval =
          this.state.role === 'leader' ? this.timings.renewEveryMs : this.timings.heartbeatMs;
        const delay = this.wakeRequested ? 0 : Math.max(0, interval - (this.nowMs() - startedAt));
        this.wakeRequested = false;
        this.scheduleTick(delay);
      });
    return this.inFlight;
  }

  private async step(): Promise<void> {
    if (this.settings.mode === 'single-instance') return this.stepSingleInstance();
    const s = this.state;
    if (s.role === 'leader') return this.renew(s);
    return this.tryAcquire();
  }

  private async tryAcquire(): Promise<void> {
    const lock = this.lock!;
    if (!lock.isAvailable()) return this.follow(lock.describeUnavailability());
    const startedAt = this.nowMs();
    let outcome;
    try {
      outcome = await withTimeout(
        lock.acquire(this.timings.ttlMs),
        this.timings.validityMs,
        'lock acquisition',
      );
    } catch (err) {
      return this.follow(`redis unreachable: ${messageOf(err)}`);
    }
    if (outcome === 'held-elsewhere') return this.follow('another instance holds the lock');

    // measured from before the request: Redis started the TTL later than that, never earlier
    const leadUntilMs = startedAt + this.timings.validityMs;
    let term: string | null;
    try {
      term = await withTimeout(
        this.repository.claimTerm({
          instanceId: this.settings.instanceId,
          hostname: this.settings.hostname,
          heartbeatIntervalSeconds: this.settings.heartbeatSeconds,
          now: this.clock.now(),
        }),
        leadUntilMs - this.nowMs(),
        'term claim',
      );
    } catch (err) {
      // without a term every fenced write would be refused: leading is pointless
      await this.releaseQuietly();
      return this.follow(`database unavailable: ${messageOf(err)}`);
    }
    if (this.stopped || term === null || this.nowMs() >= leadUntilMs) {
      await this.releaseQuietly();
      return this.follow(
        this.stopped ? 'shutting down' : 'lock validity ran out while taking a term',
      );
    }
    this.becomeLeader(term, leadUntilMs, 'holds the lock');
  }

  private async renew(s: Leading): Promise<void> {
    if (!this.isLeader()) return;
    const startedAt = this.nowMs();
    let outcome;
    try {
      // a renewal that has not answered by the time we would stop anyway counts as failed
      outcome = await withTimeout(
        this.lock!.extend(this.timings.ttlMs),
        s.leadUntilMs! - startedAt,
        'lock renewal',
      );
    } catch (err) {
      this.stepDown(s, `lock renewal failed: ${messageOf(err)}`);
      return;
    }
    if (this.state !== s) return; // stepped down meanwhile (watchdog or shutdown)
    if (outcome === 'lost') {
      this.stepDown(s, 'lock lost: it expired or another instance holds it');
      return;
    }
    s.leadUntilMs = startedAt + this.timings.validityMs;
    this.armWatchdog(s);
    this.recordHeartbeat(s);
  }

  private async stepSingleInstance(): Promise<void> {
    const s = this.state;
    if (s.role === 'leader') {
      this.recordHeartbeat(s);
      return;
    }
    let term: string | null;
    try {
      const now = this.clock.now();
      term = await this.repository.claimTerm({
        instanceId: this.settings.instanceId,
        hostname: this.settings.hostname,
        heartbeatIntervalSeconds: this.settings.heartbeatSeconds,
        now,
        onlyIfHeartbeatBefore: this.yieldedToNewerTerm
          ? new Date(now.getTime() - this.timings.ttlMs)
          : undefined,
      });
    } catch (err) {
      return this.follow(`database unavailable: ${messageOf(err)}`);
    }
    if (term === null) {
      return this.follow(
        'another instance took a newer term; taking over only once its heartbeat is older than LEADER_LOCK_TTL_SECONDS',
      );
    }
    this.yieldedToNewerTerm = false;
    this.becomeLeader(term, null, `single-instance mode: ${this.settings.singleInstanceReason}`);
  }

  // ---- state changes ---------------------------------------------------------------

  private becomeLeader(term: string, leadUntilMs: number | null, reason: string): void {
    const s: Leading = { role: 'leader', reason, term, since: this.clock.now(), leadUntilMs };
    this.state = s;
    this.loggedFollowerReason = null;
    this.setGauge(1);
    this.logger.log({
      msg: 'this instance is the leader',
      instanceId: this.settings.instanceId,
      term,
      mode: this.settings.mode,
    });
    if (leadUntilMs !== null) this.armWatchdog(s);
  }

  private stepDown(s: Leading, reason: string): void {
    if (this.state !== s) return;
    this.state = { role: 'follower', reason };
    this.loggedFollowerReason = reason;
    clearTimeout(this.watchdog);
    this.setGauge(0);
    this.logger.warn({
      msg: 'stepped down as leader',
      reason,
      instanceId: this.settings.instanceId,
      term: s.term,
    });
    if (this.settings.mode === 'single-instance') this.yieldedToNewerTerm = true;
    // if the lock is still ours, letting it go lets a healthy follower take over now
    // rather than after the TTL; if Redis is down this fails and the TTL does it
    void this.releaseQuietly();
  }

  private follow(reason: string): void {
    this.state = { role: 'follower', reason };
    if (this.loggedFollowerReason !== reason) {
      this.loggedFollowerReason = reason;
      this.logger.log({
        msg: 'this instance is a follower',
        reason,
        instanceId: this.settings.instanceId,
      });
    }
  }

  /** Steps down when the validity runs out even if the renewal never answers. */
  private armWatchdog(s: Leading): void {
    clearTimeout(this.watchdog);
    if (s.leadUntilMs === null || this.stopped) return;
    this.watchdog = setTimeout(
      () => {
        if (this.state === s) this.isLeader(); // steps down when the validity has run out
        if (this.state === s) this.armWatchdog(s); // the clock says not yet: wait again
      },
      Math.max(0, s.leadUntilMs - this.nowMs()),
    );
    this.watchdog.unref();
  }

  /** Updates last_heartbeat_at under our term; a newer term there means someone else leads. */
  private recordHeartbeat(s: Leading): void {
    if (this.heartbeatInFlight) return; // a slow database never delays the lock renewal
    this.heartbeatInFlight = true;
    this.repository
      .recordHeartbeat(this.settings.instanceId, s.term, this.clock.now())
      .then((matched) => {
        if (!matched) this.stepDown(s, 'a newer term is recorded in orchestrator_leader');
      })
      .catch((err) =>
        this.logger.warn({ msg: 'leader heartbeat not recorded', error: messageOf(err) }),
      )
      .finally(() => (this.heartbeatInFlight = false));
  }

  private async releaseQuietly(): Promise<void> {
    if (!this.lock) return;
    try {
      await this.lock.release();
    } catch (err) {
      this.logger.debug({ msg: 'leader lock release failed', error: messageOf(err) });
    }
  }

  private setGauge(value: 0 | 1): void {
    this.gauge.set({ instance_id: this.settings.instanceId }, value);
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }
}
