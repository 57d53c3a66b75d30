import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { deadline } from 'src/common/time/deadline';
import { AmqpConnection } from './amqp-connection';
import { OUTBOX_EXCHANGES } from './event-contracts';

export interface OutgoingEvent {
  exchange: string;
  routingKey: string;
  eventId: string;
  eventType: string;
  createdAt: Date;
  payload: Record<string, unknown>;
}

/**
 * What the broker did with a confirmed publish: routed to at least one queue, or returned
 * (basic.return) because no queue is bound for the routing key.
 */
export type PublishOutcome = { routed: true } | { routed: false; reason: string };

/**
 * Publishes outbox events on one confirm channel. A publish resolves only once the broker
 * confirmed it (it then owns the message: durable exchange, persistent message) and
 * rejects on a nack or after the timeout, so the caller can tell sent from not sent.
 *
 * Every publish is `mandatory`: a confirm alone only says the exchange took the message,
 * and a topic exchange with no matching binding drops it. The broker sends the
 * basic.return before the basic.ack of the same message on the same channel, so by the
 * time the confirm resolves, a returned message has been noted and the publish answers
 * "not routed".
 */
@Injectable()
export class AmqpPublisher {
  private readonly logger = new Logger(AmqpPublisher.name);
  private channel: ChannelWrapper | null = null;
  private ready = false;
  private readonly readyListeners = new Set<() => void>();
  /** messageId -> why the broker returned it, between the return and the confirm */
  private readonly returned = new Map<string, string>();

  constructor(@Inject(AmqpConnection) private readonly connection: AmqpConnection) {
    connection.manager?.on('disconnect', () => (this.ready = false));
  }

  get isConfigured(): boolean {
    return this.connection.manager !== null;
  }

  /** Opens the channel (idempotent); onReady runs every time it is (re)connected. */
  open(publishTimeoutMs: number, onReady: () => void): void {
    const manager = this.connection.manager;
    if (!manager || this.channel) return;
    this.channel = manager.createChannel({
      name: 'outbox-relay',
      confirm: true,
      publishTimeout: publishTimeoutMs,
      // runs on every (re)connect, before anything is published on the new channel
      setup: async (channel: ConfirmChannel) => {
        for (const exchange of OUTBOX_EXCHANGES) {
          await channel.assertExchange(exchange, 'topic', { durable: true });
        }
        channel.on('return', (message: ConsumeMessage) => this.noteReturned(message));
      },
    });
    this.channel.on('connect', () => {
      this.ready = true;
      for (const listener of [...this.readyListeners]) listener();
      onReady();
    });
    this.channel.on('error', (err: Error) =>
      this.logger.warn({ msg: 'outbox channel setup failed', error: err.message }),
    );
  }

  /** Connected, channel set up: a publish now has a chance to be confirmed. */
  isReady(): boolean {
    return this.ready && (this.connection.manager?.isConnected() ?? false);
  }

  /** Resolves true once ready, false after ms. */
  waitUntilReady(ms: number): Promise<boolean> {
    if (this.isReady()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const expiry = deadline(ms);
      const done = (value: boolean) => {
        expiry.removeEventListener('abort', onExpiry);
        this.readyListeners.delete(onReady);
        resolve(value);
      };
      const onReady = () => done(true);
      const onExpiry = () => done(false);
      expiry.addEventListener('abort', onExpiry, { once: true });
      this.readyListeners.add(onReady);
    });
  }

  async publish(event: OutgoingEvent): Promise<PublishOutcome> {
    if (!this.channel) throw new Error('outbox channel not open');
    try {
      await this.send(this.channel, event);
      const reason = this.returned.get(event.eventId);
      return reason === undefined ? { routed: true } : { routed: false, reason };
    } finally {
      this.returned.delete(event.eventId);
    }
  }

  private noteReturned(message: ConsumeMessage): void {
    const id = message.properties.messageId as string | undefined;
    if (!id) return;
    const { replyCode, replyText } = message.fields as unknown as {
      replyCode?: number;
      replyText?: string;
    };
    this.returned.set(
      id,
      `returned by RabbitMQ (${replyCode ?? '?'} ${replyText ?? 'unroutable'}): no queue bound to ` +
        `exchange "${message.fields.exchange}" for routing key "${message.fields.routingKey}"`,
    );
  }

  private async send(channel: ChannelWrapper, event: OutgoingEvent): Promise<void> {
    await channel.publish(
      event.exchange,
      event.routingKey,
      Buffer.from(JSON.stringify(event.payload)),
      {
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        messageId: event.eventId,
        type: event.eventType,
        timestamp: Math.floor(event.createdAt.getTime() / 1000),
        appId: 'bakery-orchestrator',
        headers: { event_type: event.eventType, event_id: event.eventId },
      },
    );
  }

  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = null;
    this.ready = false;
    await channel?.close();
  }
}
