import net from 'node:net';

/** The real services the integration and e2e suites talk to, on 127.0.0.1. */
export const SERVICES = {
  postgres: {
    host: '127.0.0.1',
    port: 5432,
    url: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  },
  redis: {
    host: '127.0.0.1',
    port: 6379,
    url: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  },
  rabbitmq: {
    host: '127.0.0.1',
    port: 5672,
    url: process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  },
} as const;

export type ServiceName = keyof typeof SERVICES;

export function isPortOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const flag = (name: ServiceName) => `ORCH_TEST_HAS_${name.toUpperCase()}`;

export function markAvailability(name: ServiceName, available: boolean): void {
  process.env[flag(name)] = available ? '1' : '0';
}

/**
 * `describe` when every named service answered in global setup. Otherwise the suite is
 * not run: it shows as one "todo" naming what is missing, and a warning says why. Under
 * CI=true global setup has already failed the run if a service was missing, so in CI
 * this is always a plain describe.
 */
export function describeWith(services: ServiceName[], name: string, fn: () => void): void {
  const missing = services.filter((s) => process.env[flag(s)] !== '1');
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  const reason = `${missing.join(', ')} not reachable on 127.0.0.1 (see README "On a fresh machine")`;
  // eslint-disable-next-line no-console
  console.warn(`NOT RUN "${name}": ${reason}`);
  describe(name, () => {
    it.todo(`not run: ${reason}`);
  });
}
