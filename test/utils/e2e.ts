import { AddressInfo } from 'node:net';
import { IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { INestApplication } from '@nestjs/common';
import { Pool } from 'undici';
import { sleep } from './wait';

/** Shared pieces of the suites that drive the built service over HTTP. */
export const API = '/api/v1/orchestrator';

/** The six steps of daily_operations, each called once per tenant per run. */
export const DAILY_OPS = [
  'forecasting.generate',
  'production.generate_schedule',
  'procurement.calculate_needs',
  'inventory.project',
  'forecasting.validate',
  'notification.daily_summary',
];

/** A JSON call to the orchestrator API; the body comes back parsed (null when empty). */
export async function callApi(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${baseUrl}${API}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/**
 * The event loop's delay over `ms` with no request in flight: on a shared machine other
 * processes delay the loop too, and what requests cost is the difference from this.
 */
export async function idleLoopDelay(ms: number): Promise<IntervalHistogram> {
  const idle = monitorEventLoopDelay({ resolution: 10 });
  idle.enable();
  await sleep(ms);
  idle.disable();
  return idle;
}

/** Serves an in-process app on an ephemeral 127.0.0.1 port, with a keep-alive pool to it. */
export async function listenWithPool(app: INestApplication, connections: number): Promise<Pool> {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return new Pool(`http://127.0.0.1:${port}`, { connections });
}
