import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { Env } from 'src/config/env.schema';
import { DELIVERY_ALERT_TYPES } from './delivery-rules';
import { DeliveryTrackingCommandModule } from './delivery-tracking-command.module';
import { DeliveryTrackingOutcome, DeliveryTrackingService } from './delivery-tracking.service';

export const EXIT_COMPLETED = 0;
export const EXIT_FAILED = 1;
/** another run is active: nothing was done (concurrencyPolicy: Forbid) */
export const EXIT_REFUSED = 3;

/**
 * `node dist/cli.js delivery-tracking`: one run, then exit. Logs go to stderr so stdout
 * carries only the JSON summary, as its last (and only) line. SIGTERM/SIGINT (the
 * CronJob's activeDeadlineSeconds, a node drain) cancel the run, which still records
 * what it checked and releases its lock before the process exits.
 */
export async function runDeliveryTrackingCommand(
  env: Env,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<number> {
  const cancel = new AbortController();
  const onSignal = () => cancel.abort(new Error('signal received'));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let app: INestApplicationContext | null = null;
  let outcome: DeliveryTrackingOutcome | null = null;
  let error: Error | null = null;
  try {
    app = await NestFactory.createApplicationContext(DeliveryTrackingCommandModule.forRoot(env), {
      bufferLogs: true,
    });
    app.useLogger(app.get(PinoLogger));
    // no enableShutdownHooks: a signal must cancel the run, which then records itself,
    // rather than close the database under it
    outcome = await app.get(DeliveryTrackingService).run({ trigger: 'cli', signal: cancel.signal });
  } catch (err) {
    error = err as Error;
    process.stderr.write(`delivery-tracking: ${error.message}\n`);
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    // closing stops the outbox relay after its in-flight batch; the replicas relay the rest
    await app?.close().catch(() => undefined);
  }
  out(JSON.stringify(summaryLine(outcome, error)));
  if (!outcome) return EXIT_FAILED;
  if (outcome.status === 'refused') return EXIT_REFUSED;
  return outcome.status === 'completed' ? EXIT_COMPLETED : EXIT_FAILED;
}

/** The summary fields first, whatever happened, so a scraper always finds them. */
export function summaryLine(
  outcome: DeliveryTrackingOutcome | null,
  error: Error | null,
): Record<string, unknown> {
  const empty = {
    tenants: 0,
    purchase_orders_checked: 0,
    alerts: Object.fromEntries(DELIVERY_ALERT_TYPES.map((t) => [t, 0])),
    errors: 0,
  };
  if (!outcome) return { ...empty, status: 'failed', error: error?.message ?? 'unknown error' };
  if (outcome.status === 'refused') {
    return {
      ...empty,
      status: 'refused',
      active_run: outcome.active && {
        id: outcome.active.id,
        holder: outcome.active.holder,
        trigger: outcome.active.trigger,
        started_at: outcome.active.startedAt.toISOString(),
        lease_expires_at: outcome.active.leaseExpiresAt.toISOString(),
      },
    };
  }
  return {
    ...outcome.summary,
    status: outcome.status,
    run_id: outcome.runId,
    duration_seconds: Math.round(outcome.durationSeconds * 1000) / 1000,
    ...(outcome.status === 'failed' ? { error: `${outcome.code}: ${outcome.message}` } : {}),
  };
}
