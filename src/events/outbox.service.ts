import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Transaction } from 'src/database/transaction';
import { OUTBOX_EXCHANGES, OutboxMessage } from './event-contracts';
import { OutboxError } from './outbox.errors';
import { OutboxMetrics } from './outbox-metrics';
import {
  NewOutboxRow,
  OutboxBacklog,
  OutboxRepository,
  OutboxUnroutable,
} from './outbox.repository';
import { OutboxSignal } from './outbox-signal';

export type { OutboxBacklog, OutboxUnroutable };

/**
 * The events facade (guarantee 5). Events are written to the outbox in the caller's
 * transaction, so they exist if and only if the state change they report committed;
 * the relay publishes them to RabbitMQ afterwards, at least once. Consumers deduplicate
 * on `event_id`.
 */
@Injectable()
export class OutboxService {
  constructor(
    @Inject(OutboxRepository) private readonly repository: OutboxRepository,
    @Inject(OutboxSignal) private readonly signal: OutboxSignal,
    @Inject(OutboxMetrics) metrics: OutboxMetrics,
  ) {
    metrics.observeBacklog(() => this.backlog());
  }

  /**
   * Writes the messages inside `tx` (one multi-row INSERT) and returns their event ids,
   * in order. `payload.event_id` is kept when given, else set to a fresh UUID. The relay
   * in this process is woken once `tx` commits; nothing happens if it rolls back.
   * Throws OutboxError (OUTBOX_INVALID_MESSAGE) before writing anything if a message
   * could never be published (unknown exchange, empty routing key, non-JSON payload).
   */
  async enqueue(tx: Transaction, messages: OutboxMessage[]): Promise<string[]> {
    if (messages.length === 0) return [];
    const prepared = messages.map((message, index) => prepare(message, index));
    await this.repository.insert(
      tx,
      prepared.map((p) => p.row),
    );
    this.repository.afterCommit(tx, () => this.signal.notify());
    return prepared.map((p) => p.eventId);
  }

  /**
   * Wakes the relay now. enqueue already does this after commit; call it only if you
   * wrote outbox rows some other way.
   */
  notifyCommitted(): void {
    this.signal.notify();
  }

  /** Unsent events and the age of the oldest, for metrics and health. */
  backlog(): Promise<OutboxBacklog> {
    return this.repository.backlog();
  }

  /**
   * Undelivered events whose last publish was returned (no queue bound), per exchange, with
   * the oldest one's routing key and age. Empty when every event is routable. The alerts
   * module polls this: events cannot call alerts (alerts depends on events).
   */
  unroutable(): Promise<OutboxUnroutable[]> {
    return this.repository.unroutable();
  }
}

function prepare(message: OutboxMessage, index: number): { row: NewOutboxRow; eventId: string } {
  const { exchange, routingKey, payload } = message ?? {};
  if (!OUTBOX_EXCHANGES.includes(exchange)) {
    // publishing to an undeclared exchange closes the AMQP channel for every event
    throw OutboxError.invalidMessage(
      index,
      `exchange "${exchange}" is not one of ${OUTBOX_EXCHANGES.join(', ')}`,
    );
  }
  if (typeof routingKey !== 'string' || routingKey.length === 0 || routingKey.length > 255) {
    throw OutboxError.invalidMessage(index, 'routingKey must be 1 to 255 characters');
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw OutboxError.invalidMessage(index, 'payload must be a JSON object');
  }
  const given = payload.event_id;
  if (given !== undefined && (typeof given !== 'string' || given.length === 0)) {
    throw OutboxError.invalidMessage(index, 'payload.event_id must be a non-empty string');
  }
  const id = randomUUID();
  const eventId = given ?? id;
  let payloadJson: string;
  try {
    payloadJson = JSON.stringify({ event_id: eventId, ...payload });
  } catch (err) {
    throw OutboxError.invalidMessage(index, `payload is not JSON: ${(err as Error).message}`);
  }
  return { row: { id, exchange, routingKey, payloadJson }, eventId };
}
