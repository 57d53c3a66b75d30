import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { serviceUrls } from 'src/config/env.schema';
import { authEnv } from './auth';

const ROOT = join(__dirname, '../..');

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
}

/** The built service (dist/main.js) as a child process, the way it runs in production. */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  output = '';
  private exited: Promise<ExitResult> | null = null;

  constructor(
    readonly env: Record<string, string>,
    private readonly entry = 'dist/main.js',
    private readonly args: string[] = [],
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.env.PORT}`;
  }

  start(): this {
    const child = spawn(process.execPath, [this.entry, ...this.args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, ms: 0 })),
    );
    this.child = child;
    return this;
  }

  /** Resolves when GET path answers 200, or fails with the process output. */
  async waitFor(path: string, timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exitedEarly = false;
    void this.exited!.then(() => (exitedEarly = true));
    while (Date.now() < deadline && !exitedEarly) {
      try {
        const res = await fetch(`${this.baseUrl}${path}`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${path} never answered 200; process output:\n${this.output.slice(-4000)}`);
  }

  async get(
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.baseUrl}${path}`, { headers });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body };
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitResult> {
    if (!this.child || this.child.exitCode !== null) return this.exited!;
    const started = Date.now();
    this.child.kill(signal);
    const result = await this.exited!;
    return { ...result, ms: Date.now() - started };
  }

  waitForExit(): Promise<ExitResult> {
    return this.exited!;
  }
}

// TEST_PORT_BASE separates checkouts whose suites run side by side on one machine. Keep
// it and its workers' ranges (500 each) below 32768, where Linux starts handing out the
// local ports of outgoing connections: a child told to listen on one of those can find it
// taken (EADDRINUSE).
let nextPort =
  Number(process.env.TEST_PORT_BASE ?? 20000) +
  Number(process.env.JEST_WORKER_ID ?? 1) * 500 +
  Math.floor(Math.random() * 400);
/** A port for a child process, distinct per Jest worker. */
export const freePort = () => String(nextPort++);

/**
 * The env the spawned-service suites share: the test database, the simulator behind every
 * downstream, test auth, and neither leader election nor in-process delivery tracking (one
 * process, no RabbitMQ consumer) unless `extra` turns them on.
 */
export function serviceEnv(
  databaseUrl: string,
  simulatorUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    ENABLE_LEADER_ELECTION: 'false',
    DELIVERY_TRACKING_IN_PROCESS: 'false',
    ...authEnv(),
    ...serviceUrls(simulatorUrl),
    ...extra,
  };
}
