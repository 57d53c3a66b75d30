import { Global, Module } from '@nestjs/common';
import { AmqpConnection } from './amqp-connection';

@Global()
@Module({ providers: [AmqpConnection], exports: [AmqpConnection] })
export class EventsModule {}
