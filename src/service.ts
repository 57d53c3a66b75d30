import type { Server } from 'node:http';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { Clock } from './common/time/clock';
import { TimeoutError, withTimeout } from './common/time/deadline';
import { ConfigError, validateEnv } from './config/validate-env';
import { Env } from './config/env.schema';

/** Builds and starts the HTTP service; shared by main.ts, the demo and the e2e tests. */
export async function startService(
  env: Env,
  options: { clock?: Clock; port?: number } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(env, options), { bufferLogs: true });
  configureApp(app);
  await app.listen(options.port ?? env.PORT, '0.0.0.0');
  return app;
}

/** Reads the environment or prints every problem and exits 1. */
export function loadEnvOrExit(source: NodeJS.ProcessEnv = process.env): Env {
  try {
    return validateEnv(source);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `${err.message}\nSee .env.example for every variable and its default.\n`,
      );
      process.exit(1);
    }
    throw err;
  }
}

/**
 * SIGTERM/SIGINT: stop taking work and close connections (Nest's shutdown hooks), then
 * exit 0; if that takes longer than SHUTDOWN_TIMEOUT_SECONDS, exit 1 anyway so the
 * orchestrator of the pod never waits on us. Nest's own enableShutdownHooks re-raises the
 * signal, which ends the process with 143 rather than 0.
 *
 * Readiness turns 503 at once (the health controller's destroy hook). Keep-alive clients
 * are let go without cutting a response: every answer from now on carries
 * `Connection: close`, and once the listener is closed idle sockets are closed as they go
 * idle. Without this, a client (a load balancer) that polls over one kept-alive socket
 * keeps the HTTP server open until the timeout.
 */
export function exitOnSignals(app: INestApplication, timeoutSeconds: number): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    const logger = app.get(Logger);
    logger.log({ msg: 'shutting down', signal });
    releaseKeepAliveClients(app.getHttpServer() as Server);
    withTimeout(app.close(), timeoutSeconds * 1000, 'shutdown')
      .then(() => process.exit(0))
      .catch((err: Error) => {
        logger.error({
          msg: err instanceof TimeoutError ? 'shutdown took too long; exiting' : 'shutdown failed',
          error: err.message,
          timeoutSeconds,
        });
        process.exit(1);
      });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

const IDLE_SWEEP_MS = 25;

/** Ends keep-alive connections after their in-flight response, never during it. */
export function releaseKeepAliveClients(server: Server): void {
  // before Express sees the request, so the header is there whatever the handler does
  server.prependListener('request', (_req, res) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  });
  server.closeIdleConnections();
  // server.close() closes the sockets idle at that instant; one that was busy then goes
  // idle later (its response predated the signal) and would otherwise stay open
  const sweeper = setInterval(() => {
    if (!server.listening) server.closeIdleConnections();
  }, IDLE_SWEEP_MS);
  sweeper.unref();
  server.once('close', () => clearInterval(sweeper));
}
