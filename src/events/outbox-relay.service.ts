import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { Clock } from 'src/common/time/clock';
import { AmqpPublisher, PublishOutcome } from './amqp-publisher';
import { withTimeout } from 'src/common/time/deadline';
import { OUTBOX_EXCHANGES } from './event-contracts';
import {
  DEFAULT_OUTBOX_BACKOFF,
  DEFAULT_UNROUTABLE_BACKOFF,
  OutboxBackoff,
  outboxRetryDelayMs,
  unroutableRetryDelayMs,
} from './outbox-backoff';
import { OutboxMetrics } from './outbox-metrics';
import { ClaimedOutboxRow, OutboxFailure, OutboxRepository } from './outbox.repository';
import { OutboxSignal } from './outbox-signal';

export interface OutboxRelayOptions {
  /** rows claimed and published per round trip */
  batchSize: number;
  /** how long an idle relay sleeps when nothing rang (enqueues in other replicas do not) */
  pollIntervalMs: number;
  /** how long a claimed row is hidden from other relays; must exceed publishTimeoutMs */
  leaseMs: number;
  /** a publish not confirmed within this is a failure (the row is retried) */
  publishTimeoutMs: number;
  /** how long a batch waits for the broker before it is recorded as failed */
  connectWaitMs: number;
  /** longest stop() waits for the in-flight batch before abandoning it */
  stopTimeoutMs: number;
  backoff: OutboxBackoff;
  /** delays of events the broker returned (no queue bound), with full jitter */
  unroutableBackoff: OutboxBackoff;
  random: () => number;
  /** sent rows are deleted after this */
  retentionMs: number;
  purgeIntervalMs: number;
}

export const DEFAULT_OUTBOX_RELAY_OPTIONS: OutboxRelayOptions = {
  batchSize: 100,
  pollIntervalMs: 1000,
  leaseMs: 60_000,
  publishTimeoutMs: 10_000,
  connectWaitMs: 2000,
  stopTimeoutMs: 12_000,
  backoff: DEFAULT_OUTBOX_BACKOFF,
  unroutableBackoff: DEFAULT_UNROUTABLE_BACKOFF,
  random: Math.random,
  retentionMs: 7 * 24 * 3600 * 1000,
  purgeIntervalMs: 3600 * 1000,
};

/** Nest token to override some of the defaults (tests, benchmarks). */
export const OUTBOX_RELAY_OPTIONS = Symbol('OUTBOX_RELAY_OPTIONS');

export interface RelayBatchResult {
  claimed: number;
  /** confirmed and routed to at least one queue: marked sent */
  published: number;
  failed: number;
  /** confirmed but returned by the broker (no queue bound): retried, never marked sent */
  unroutable: number;
}

const PURGE_BATCH = 10_000;
const QUIET_LOG_MS = 60_000;

/**
 * Moves outbox rows to RabbitMQ (guarantee 5), in every replica that has RABBITMQ_URL.
 * A row is marked sent only after the broker confirmed it; a failed publish counts an
 * attempt and makes the row due again after a capped exponential backoff, so an outage
 * delays events and never drops them. Delivery is at least once (a relay that dies
 * between confirm and mark re-sends after the lease): consumers deduplicate on event_id.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelayService.name);
  private readonly options: OutboxRelayOptions;
  private running: Promise<void> | null = null;
  private stopping = false;
  private lastPurgeAt = 0;
  private failingSince: number | null = null;
  private lastFailureLogAt = 0;
  private failuresInStreak = 0;

  constructor(
    @Inject(OutboxRepository) private readonly repository: OutboxRepository,
    @Inject(AmqpPublisher) private readonly publisher: AmqpPublisher,
    @Inject(OutboxSignal) private readonly signal: OutboxSignal,
    @Inject(OutboxMetrics) private readonly metrics: OutboxMetrics,
    @Inject(Clock) private readonly clock: Clock,
    @Optional() @Inject(OUTBOX_RELAY_OPTIONS) options?: Partial<OutboxRelayOptions>,
  ) {
    this.options = { ...DEFAULT_OUTBOX_RELAY_OPTIONS, ...options };
  }

  onApplicationBootstrap(): void {
    if (!this.start()) {
      this.logger.log('RABBITMQ_URL is not set: events are kept in the outbox, not relayed');
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  get isRunning(): boolean {
    return this.running !== null;
  }

  /** Starts the background loop; false (and nothing started) without RabbitMQ. */
  start(): boolean {
    if (!this.publisher.isConfigured) return false;
    if (this.running) return true;
    this.stopping = false;
    // a broker (re)connect may find rows waiting for it
    this.publisher.open(this.options.publishTimeoutMs, () => this.signal.notify());
    this.running = this.loop();
    this.logger.log({
      msg: 'outbox relay started',
      batchSize: this.options.batchSize,
      pollIntervalMs: this.options.pollIntervalMs,
    });
    return true;
  }

  /**
   * Lets the in-flight batch finish (its confirmed rows are marked sent, the others
   * failed) for up to stopTimeoutMs, then abandons it: an abandoned row is never marked
   * sent; its lease expires and a relay publishes it again.
   */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    this.stopping = true;
    this.signal.notify();
    const abandoned = await withTimeout(running, this.options.stopTimeoutMs, 'outbox batch').then(
      () => false,
      () => true,
    );
    if (abandoned)
      this.logger.warn({
        msg: 'outbox relay stopped with a batch in flight; it will be re-sent',
        stopTimeoutMs: this.options.stopTimeoutMs,
      });
    this.running = null;
    await this.publisher.close().catch(() => undefined);
    this.logger.log('outbox relay stopped');
  }

  /**
   * Claims one batch of due rows and publishes it. Used by the loop; callable directly
   * (tests, a one-shot command that wants its events out before exiting).
   */
  async relayBatch(): Promise<RelayBatchResult> {
    const ready =
      this.publisher.isReady() || (await this.publisher.waitUntilReady(this.options.connectWaitMs));
    const rows = await this.repository.claim(this.options.batchSize, this.options.leaseMs);
    if (rows.length === 0) return { claimed: 0, published: 0, failed: 0, unroutable: 0 };

    const sent: ClaimedOutboxRow[] = [];
    const failed: { row: ClaimedOutboxRow; error: string }[] = [];
    const returned: { row: ClaimedOutboxRow; error: string }[] = [];
    if (!ready || !this.publisher.isReady()) {
      // recorded as an attempt, so attempts/last_error show why events are waiting
      for (const row of rows) failed.push({ row, error: 'RabbitMQ unavailable: not connected' });
    } else {
      const outcomes = await Promise.allSettled(rows.map((row) => this.publish(row)));
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'rejected')
          failed.push({ row: rows[i], error: describe(outcome.reason) });
        else if (outcome.value.routed) sent.push(rows[i]);
        else returned.push({ row: rows[i], error: outcome.value.reason });
      });
    }

    await this.repository.markSent(sent.map((row) => row.id));
    for (const row of sent) {
      this.metrics.published.inc({ exchange: row.exchange, routing_key: row.routingKey });
    }
    if (failed.length > 0) {
      const failures: OutboxFailure[] = failed.map(({ row, error }) => ({
        id: row.id,
        error,
        delayMs: outboxRetryDelayMs(row.attempts + 1, this.options.backoff),
      }));
      await this.repository.markFailed(failures);
      for (const { row } of failed) {
        this.metrics.publishFailures.inc({ exchange: row.exchange, routing_key: row.routingKey });
      }
    }
    await this.recordUnroutable(returned);
    this.noteOutcome(sent.length, failed);
    return {
      claimed: rows.length,
      published: sent.length,
      failed: failed.length,
      unroutable: returned.length,
    };
  }

  /**
   * Not sent: counted, made due again after a jittered backoff, and reported once per
   * exchange and routing key of the batch. Unlike a broker outage this does not heal by
   * itself (someone has to bind a queue), so every batch says so, at warn.
   */
  private async recordUnroutable(returned: { row: ClaimedOutboxRow; error: string }[]) {
    if (returned.length === 0) return;
    await this.repository.markUnroutable(
      returned.map(({ row, error }) => ({
        id: row.id,
        error,
        delayMs: unroutableRetryDelayMs(
          row.attempts + 1,
          this.options.unroutableBackoff,
          this.options.random,
        ),
      })),
    );
    const groups = new Map<string, ClaimedOutboxRow[]>();
    for (const { row } of returned) {
      this.metrics.unroutable.inc({ exchange: row.exchange, routing_key: row.routingKey });
      const key = JSON.stringify([row.exchange, row.routingKey]);
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    for (const group of groups.values()) {
      const { exchange, routingKey } = group[0];
      this.logger.warn({
        msg:
          `outbox: ${group.length} event(s) unroutable: no queue is bound to exchange ` +
          `"${exchange}" for routing key "${routingKey}"; kept and retried until one is`,
        exchange,
        routing_key: routingKey,
        event_ids: group.slice(0, 10).map((row) => eventIdOf(row)),
      });
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let result: RelayBatchResult | null = null;
      try {
        result = await this.relayBatch();
      } catch (err) {
        this.noteError({ msg: 'outbox relay batch failed', error: describe(err) });
      }
      await this.purgeIfDue();
      if (this.stopping) break;
      // a full batch that went out means more is probably waiting: no sleep
      // (docs/performance.md "Where queues go wrong")
      const more =
        result !== null && result.claimed >= this.options.batchSize && result.published > 0;
      if (!more) await this.signal.wait(this.options.pollIntervalMs);
    }
  }

  private async publish(row: ClaimedOutboxRow): Promise<PublishOutcome> {
    if (!OUTBOX_EXCHANGES.includes(row.exchange)) {
      // enqueue refuses these; a row written some other way must not reach the broker,
      // whose answer to an undeclared exchange is to close the channel for every event
      throw new Error(`exchange "${row.exchange}" is not one the relay declares`);
    }
    const eventId = eventIdOf(row);
    const eventType =
      typeof row.payload.event_type === 'string' ? row.payload.event_type : row.routingKey;
    return this.publisher.publish({
      exchange: row.exchange,
      routingKey: row.routingKey,
      eventId,
      eventType,
      createdAt: row.createdAt,
      payload: row.payload,
    });
  }

  private async purgeIfDue(): Promise<void> {
    const now = this.clock.now().getTime();
    if (now - this.lastPurgeAt < this.options.purgeIntervalMs) return;
    this.lastPurgeAt = now;
    try {
      let deleted = 0;
      let n: number;
      do {
        n = await this.repository.purgeSent(this.options.retentionMs, PURGE_BATCH);
        deleted += n;
      } while (n === PURGE_BATCH && !this.stopping);
      if (deleted > 0)
        this.logger.log({ msg: 'outbox: deleted events sent before the retention', deleted });
    } catch (err) {
      this.noteError({ msg: 'outbox purge failed', error: describe(err) });
    }
  }

  private noteOutcome(published: number, failed: { row: ClaimedOutboxRow; error: string }[]): void {
    if (failed.length > 0) {
      this.noteError({
        msg: 'outbox: events not published, will retry with backoff',
        failed: failed.length,
        error: failed[0].error,
      });
    } else if (published > 0 && this.failingSince !== null) {
      this.logger.log({
        msg: 'outbox: publishing again',
        failingForSeconds: Math.round((this.clock.now().getTime() - this.failingSince) / 1000),
        failedAttempts: this.failuresInStreak,
      });
      this.failingSince = null;
      this.failuresInStreak = 0;
    }
  }

  /** warn once when trouble starts, then at most once a minute: it heals by itself */
  private noteError(entry: { msg: string; error: string; failed?: number }): void {
    const now = this.clock.now().getTime();
    this.failuresInStreak++;
    if (this.failingSince === null) this.failingSince = now;
    if (this.failuresInStreak === 1 || now - this.lastFailureLogAt >= QUIET_LOG_MS) {
      this.lastFailureLogAt = now;
      this.logger.warn(entry);
    }
  }
}

function eventIdOf(row: ClaimedOutboxRow): string {
  return typeof row.payload.event_id === 'string' ? row.payload.event_id : row.id;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
