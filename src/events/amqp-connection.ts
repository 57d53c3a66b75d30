import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import amqp, { AmqpConnectionManager } from 'amqp-connection-manager';
import { AppConfig } from 'src/config/app-config.service';

/** The RabbitMQ connection (null without RABBITMQ_URL); it reconnects by itself. */
@Injectable()
export class AmqpConnection implements OnApplicationShutdown {
  private readonly logger = new Logger(AmqpConnection.name);
  readonly manager: AmqpConnectionManager | null;

  constructor(@Inject(AppConfig) config: AppConfig) {
    const url = config.get('RABBITMQ_URL');
    this.manager = url
      ? amqp.connect([url], { heartbeatIntervalInSeconds: 10, reconnectTimeInSeconds: 2 })
      : null;
    this.manager?.on('disconnect', ({ err }: { err?: Error }) =>
      this.logger.warn({ msg: 'rabbitmq disconnected', error: err?.message ?? 'closed' }),
    );
  }

  state(): { ok: boolean; reason?: string } {
    if (!this.manager) return { ok: true };
    return this.manager.isConnected()
      ? { ok: true }
      : { ok: false, reason: 'rabbitmq not connected' };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.manager?.close();
  }
}
