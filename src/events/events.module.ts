import { Global, Module } from '@nestjs/common';
import { register } from 'prom-client';
import { AmqpConnection } from './amqp-connection';
import { AmqpPublisher } from './amqp-publisher';
import { OutboxMetrics } from './outbox-metrics';
import { OutboxRelayService } from './outbox-relay.service';
import { OutboxRepository } from './outbox.repository';
import { OutboxService } from './outbox.service';
import { OutboxSignal } from './outbox-signal';

/**
 * Events (guarantee 5): OutboxService writes events in the caller's transaction; the
 * relay publishes them to RabbitMQ from application bootstrap to shutdown when
 * RABBITMQ_URL is set. Needs the TypeORM DataSource and Clock (both global).
 */
@Global()
@Module({
  providers: [
    AmqpConnection,
    AmqpPublisher,
    OutboxRepository,
    OutboxSignal,
    // the default registry is the one /metrics serves
    { provide: OutboxMetrics, useFactory: () => new OutboxMetrics(register) },
    OutboxService,
    OutboxRelayService,
  ],
  exports: [AmqpConnection, OutboxService],
})
export class EventsModule {}
