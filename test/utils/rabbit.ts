import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { SERVICES } from './services';

/** A private queue bound to an exchange, collecting every message for assertions. */
export class QueueSpy {
  readonly messages: { routingKey: string; payload: any; persistent: boolean }[] = [];
  private connection: amqp.ChannelModel | null = null;

  static async bind(exchange: string, pattern: string): Promise<QueueSpy> {
    const spy = new QueueSpy();
    spy.connection = await amqp.connect(SERVICES.rabbitmq.url);
    const channel = await spy.connection.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue(`test.${randomBytes(6).toString('hex')}`, {
      exclusive: true,
      autoDelete: true,
    });
    await channel.bindQueue(queue, exchange, pattern);
    await channel.consume(queue, (msg) => {
      if (!msg) return;
      spy.messages.push({
        routingKey: msg.fields.routingKey,
        payload: JSON.parse(msg.content.toString()),
        persistent: msg.properties.deliveryMode === 2,
      });
      channel.ack(msg);
    });
    return spy;
  }

  async close(): Promise<void> {
    await this.connection?.close();
  }
}
