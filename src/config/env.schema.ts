import { createPublicKey } from 'node:crypto';
import { validateCron, validateTimezone } from 'src/common/time/cron-time';
import { parseDeadlines } from 'src/common/time/deadline-spec';

/**
 * One environment variable: how to read it, its default, and what is accepted.
 * A table instead of decorators so that every error can name the variable, the value
 * and what would have been accepted, and so that `.env.example` and the README table
 * are checked against the same source (see env.schema.spec.ts).
 */
interface VarSpec<T> {
  readonly description: string;
  readonly accepted: string;
  readonly default?: string;
  readonly parse: (raw: string) => T | undefined;
}

const isUrlWith = (protocols: string[]) => (raw: string) => {
  try {
    const url = new URL(raw);
    return protocols.includes(url.protocol) && url.hostname !== ''
      ? raw.replace(/\/+$/, '')
      : undefined;
  } catch {
    return undefined;
  }
};

const integer = (min: number, max: number) => (raw: string) =>
  /^\d+$/.test(raw.trim()) && Number(raw) >= min && Number(raw) <= max ? Number(raw) : undefined;

const boolean = (raw: string) => {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return undefined;
};

const decimal = (min: number, max: number) => (raw: string) =>
  /^\d+(\.\d+)?$/.test(raw.trim()) && Number(raw) >= min && Number(raw) <= max
    ? Number(raw)
    : undefined;

const cron = (raw: string) => (validateCron(raw) === null ? raw.trim() : undefined);
const timezone = (raw: string) => (validateTimezone(raw) === null ? raw : undefined);
const text = (raw: string) => (raw.trim() === '' ? undefined : raw.trim());
const oneOf =
  <T extends string>(...values: T[]) =>
  (raw: string) =>
    values.includes(raw.trim().toLowerCase() as T) ? (raw.trim().toLowerCase() as T) : undefined;

/** Environments often carry a PEM on one line with literal \\n; both forms are accepted. */
const pemPublicKey = (raw: string) => {
  const pem = raw.trim().replace(/\\n/g, '\n');
  // createPublicKey would happily derive a public key from a private one: refuse it
  if (pem.includes('PRIVATE KEY')) return undefined;
  try {
    createPublicKey(pem);
    return pem;
  } catch {
    return undefined;
  }
};

const httpUrl = isUrlWith(['http:', 'https:']);
const serviceUrl = (name: string): VarSpec<string> => ({
  description: `Base URL of the ${name} service`,
  accepted: 'an http(s) URL such as http://forecasting:8000',
  default: 'http://127.0.0.1:18100',
  parse: httpUrl,
});

export const ENV_SCHEMA = {
  PORT: {
    description: 'HTTP port',
    accepted: 'an integer from 1 to 65535',
    default: '8018',
    parse: integer(1, 65535),
  },
  DATABASE_URL: {
    description: 'PostgreSQL connection string; unset = embedded PGlite in DATA_DIR',
    accepted: 'a postgres:// or postgresql:// URL',
    parse: isUrlWith(['postgres:', 'postgresql:']),
  },
  DATA_DIR: {
    description: 'Folder of the embedded database (used when DATABASE_URL is unset)',
    accepted: 'a folder path',
    default: './data',
    parse: text,
  },
  RUN_MIGRATIONS: {
    description: 'Apply pending migrations at start',
    accepted: 'true or false',
    default: 'true',
    parse: boolean,
  },
  REDIS_URL: {
    description: 'Redis for leader election; unset = single instance',
    accepted: 'a redis:// or rediss:// URL',
    parse: isUrlWith(['redis:', 'rediss:']),
  },
  RABBITMQ_URL: {
    description: 'RabbitMQ for events; unset = events stay in the outbox',
    accepted: 'an amqp:// or amqps:// URL',
    parse: isUrlWith(['amqp:', 'amqps:']),
  },
  DATABASE_POOL_SIZE: {
    description:
      'Connections the service keeps to PostgreSQL for its work (health and the leader heartbeat have two more of their own)',
    accepted: 'an integer from 2 to 500',
    default: '20',
    parse: integer(2, 500),
  },
  DATABASE_STATEMENT_TIMEOUT_MS: {
    description:
      'PostgreSQL cancels a statement (waiting on a lock included) after this; 0 = never (not advised)',
    accepted: 'an integer from 0 to 3600000',
    default: '30000',
    parse: integer(0, 3600000),
  },
  DATABASE_LOCK_TIMEOUT_MS: {
    description:
      'PostgreSQL gives up on a statement waiting this long for a lock (a table locked elsewhere), freeing its connection; 0 = only DATABASE_STATEMENT_TIMEOUT_MS',
    accepted: 'an integer from 0 to 3600000',
    default: '10000',
    parse: integer(0, 3600000),
  },
  DATABASE_IDLE_TX_TIMEOUT_MS: {
    description:
      'PostgreSQL ends a session that sits idle inside an open transaction for this long, releasing its locks',
    accepted: 'an integer from 0 to 3600000',
    default: '60000',
    parse: integer(0, 3600000),
  },
  DATABASE_ACQUIRE_TIMEOUT_MS: {
    description:
      'Longest a query waits for a free pooled PostgreSQL connection (or a new one to open) before it fails',
    accepted: 'an integer from 100 to 600000',
    default: '5000',
    parse: integer(100, 600000),
  },
  REDIS_COMMAND_TIMEOUT_MS: {
    description:
      'A Redis command not answered within this fails (the readiness check); the leader lock derives its own from the TTL',
    accepted: 'an integer from 50 to 60000',
    default: '1000',
    parse: integer(50, 60000),
  },
  REDIS_CONNECT_TIMEOUT_MS: {
    description: 'Longest a Redis connection attempt may take before it is retried',
    accepted: 'an integer from 100 to 60000',
    default: '2000',
    parse: integer(100, 60000),
  },
  DAILY_WORKFLOW_CRON: {
    description: 'Schedule of daily_operations',
    accepted: 'a five-field cron expression such as "0 8 * * *"',
    default: '0 8 * * *',
    parse: cron,
  },
  WEEKLY_WORKFLOW_CRON: {
    description: 'Schedule of weekly_digest',
    accepted: 'a five-field cron expression such as "0 9 * * 1"',
    default: '0 9 * * 1',
    parse: cron,
  },
  DEFAULT_TIMEZONE: {
    description: 'Timezone of workflows that do not name one',
    accepted: 'an IANA timezone such as Europe/Madrid',
    default: 'Europe/Madrid',
    parse: timezone,
  },
  MAX_WORKFLOW_DURATION_SECONDS: {
    description: 'Longest a workflow run may take before what is left is cancelled',
    accepted: 'an integer from 1 to 86400',
    default: '3600',
    parse: integer(1, 86400),
  },
  ENABLE_LEADER_ELECTION: {
    description: 'Elect one leader among replicas through Redis',
    accepted: 'true or false',
    default: 'true',
    parse: boolean,
  },
  LEADER_HEARTBEAT_SECONDS: {
    description: 'How often the leader renews its lock',
    accepted: 'an integer from 1 to 3600, below LEADER_LOCK_TTL_SECONDS',
    default: '30',
    parse: integer(1, 3600),
  },
  LEADER_LOCK_TTL_SECONDS: {
    description: 'Leader lock lifetime; a dead leader is replaced after this',
    accepted: 'an integer from 2 to 7200, above LEADER_HEARTBEAT_SECONDS',
    default: '90',
    parse: integer(2, 7200),
  },
  LEADER_LOCK_KEY: {
    description: 'Redis key of the leader lock; only tests and side-by-side deployments change it',
    accepted: 'a non-empty Redis key such as orchestrator:leader:lock',
    default: 'orchestrator:leader:lock',
    parse: text,
  },
  CLOCK_SKEW_MAX_SECONDS: {
    description:
      'Largest difference between this instance clock and the database clock before it is logged and alerted',
    accepted: 'an integer from 1 to 3600',
    default: '5',
    parse: integer(1, 3600),
  },
  ORCH_TEST_CRASH_AFTER_CLAIM: {
    description:
      'Test hook: the leader kills itself (SIGKILL) inside the transaction right after claiming a slot',
    accepted: 'true or false; true only with NODE_ENV=test',
    default: 'false',
    parse: boolean,
  },
  EXECUTION_CONCURRENCY: {
    description:
      'Tenant executions this instance runs at once (calling downstream services; one whose calls are done waits for its rows outside this limit, up to twice as many)',
    accepted: 'an integer from 1 to 2000',
    default: '50',
    parse: integer(1, 2000),
  },
  STEP_CONCURRENCY: {
    description: 'Independent steps of one tenant execution run at once',
    accepted: 'an integer from 1 to 50',
    default: '4',
    parse: integer(1, 50),
  },
  EXECUTION_LEASE_SECONDS: {
    description: "Lease on claimed tenant work; a dead instance's work is reclaimed after it",
    accepted: 'an integer from 2 to 3600',
    default: '60',
    parse: integer(2, 3600),
  },
  STATE_COMMIT_INTERVAL_MS: {
    description:
      'Least time between two group commits of step results, logs and final states; what arrives meanwhile joins the next one (0: as soon as the previous one is done)',
    accepted: 'an integer from 0 to 1000',
    default: '20',
    parse: integer(0, 1000),
  },
  RUN_CREATE_BATCH_SIZE: {
    description:
      'Tenant executions a new run writes per transaction: the first batch commits with the run (with the rest listed beside it) and starts at once, the others follow batch by batch',
    accepted: 'an integer from 1 to 100000',
    default: '1000',
    parse: integer(1, 100000),
  },
  EXECUTION_POLL_MS: {
    description: 'How often an idle instance looks for work created by other instances',
    accepted: 'an integer from 50 to 60000',
    default: '1000',
    parse: integer(50, 60000),
  },
  TENANT_SERVICE_URL: serviceUrl('tenant'),
  FORECASTING_SERVICE_URL: serviceUrl('forecasting'),
  PRODUCTION_SERVICE_URL: serviceUrl('production'),
  PROCUREMENT_SERVICE_URL: serviceUrl('procurement'),
  INVENTORY_SERVICE_URL: serviceUrl('inventory'),
  NOTIFICATION_SERVICE_URL: serviceUrl('notification'),
  TRAINING_SERVICE_URL: serviceUrl('training'),
  ALERT_PROCESSOR_SERVICE_URL: serviceUrl('alert processor'),
  SERVICE_TOKEN: {
    description: 'Bearer token the orchestrator sends to downstream services',
    accepted: 'any non-empty string',
    default: 'dev-service-token',
    parse: text,
  },
  LOG_LEVEL: {
    description: 'Log level',
    accepted: 'one of fatal, error, warn, info, debug, trace, silent',
    default: 'info',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  NODE_ENV: {
    description: 'production makes the downstream service URLs mandatory',
    accepted: 'one of development, production, test',
    default: 'development',
    parse: oneOf('development', 'production', 'test'),
  },
  SHUTDOWN_TIMEOUT_SECONDS: {
    description: 'Longest a graceful shutdown may take before the process exits anyway',
    accepted: 'an integer from 1 to 600',
    default: '20',
    parse: integer(1, 600),
  },
  DELIVERY_TRACKING_CRON: {
    description: 'Schedule of the in-process delivery tracking job (the leader runs it)',
    accepted: 'a five-field cron expression such as "30 * * * *"',
    default: '30 * * * *',
    parse: cron,
  },
  DELIVERY_TRACKING_IN_PROCESS: {
    description:
      'Run delivery tracking on DELIVERY_TRACKING_CRON inside the service; false when a Kubernetes CronJob runs it',
    accepted: 'true or false',
    default: 'true',
    parse: boolean,
  },
  DELIVERY_TRACKING_DEADLINE_SECONDS: {
    description: 'Longest a delivery tracking run may take before what is left is cancelled',
    accepted: 'an integer from 10 to 86400',
    default: '1800',
    parse: integer(10, 86400),
  },
  DELIVERY_TRACKING_CONCURRENCY: {
    description: 'Tenants a delivery tracking run checks at the same time',
    accepted: 'an integer from 1 to 1000',
    default: '50',
    parse: integer(1, 1000),
  },
  AUTH_JWT_SECRET: {
    description:
      'Shared secret verifying HS256 bearer tokens; with no secret and no public key a one-off admin token is printed at start',
    accepted: 'a string of at least 32 characters',
    parse: (raw: string) => (raw.trim().length >= 32 ? raw.trim() : undefined),
  },
  AUTH_JWT_PUBLIC_KEY: {
    description: 'PEM public key verifying RS256 bearer tokens (\\n escapes accepted)',
    accepted: 'a PEM public key ("-----BEGIN PUBLIC KEY-----...")',
    parse: pemPublicKey,
  },
  AUTH_JWT_ISSUER: {
    description: 'When set, tokens must carry this iss',
    accepted: 'any non-empty string',
    parse: text,
  },
  AUTH_JWT_AUDIENCE: {
    description: 'When set, tokens must carry this aud',
    accepted: 'any non-empty string',
    parse: text,
  },
  AUTH_CLOCK_SKEW_SECONDS: {
    description: 'Clock difference tolerated when checking exp and nbf',
    accepted: 'an integer from 0 to 300',
    default: '30',
    parse: integer(0, 300),
  },
  METRICS_REQUIRE_AUTH: {
    description:
      'GET /metrics (Prometheus) needs a viewer token; unset = required when NODE_ENV=production, open otherwise',
    accepted: 'true or false',
    parse: boolean,
  },
  SWAGGER_ENABLED: {
    description:
      'Serve Swagger UI and the OpenAPI JSON; unset = on except when NODE_ENV=production',
    accepted: 'true or false',
    parse: boolean,
  },
  HTTP_BODY_LIMIT_KB: {
    description: 'Largest request body accepted (JSON or form); bigger ones get 413',
    accepted: 'an integer from 1 to 10240',
    default: '100',
    parse: integer(1, 10240),
  },
  RATE_LIMIT_MUTATIONS_PER_MINUTE: {
    description:
      'Mutating requests (POST, PUT, PATCH, DELETE) one caller may make per minute on one instance; more get 429',
    accepted: 'an integer from 1 to 100000',
    default: '60',
    parse: integer(1, 100000),
  },
  METRICS_ROLLUP_CRON: {
    description:
      'When the leader writes the daily rollup (yesterday and today so far) into orchestrator_metrics, in DEFAULT_TIMEZONE',
    accepted: 'a five-field cron expression such as "15 0 * * *"',
    default: '15 0 * * *',
    parse: cron,
  },
  COST_PER_DOWNSTREAM_CALL_EUR: {
    description: 'Price of one downstream call, for cost tracking',
    accepted: 'a decimal number from 0 to 1000 such as 0.002',
    default: '0.002',
    parse: decimal(0, 1000),
  },
  COST_PER_CPU_SECOND_EUR: {
    description: 'Price of one second of orchestrator CPU time, for cost tracking',
    accepted: 'a decimal number from 0 to 1000 such as 0.00002',
    default: '0.00002',
    parse: decimal(0, 1000),
  },
  ALERT_CONSECUTIVE_FAILURES: {
    description: "A workflow's consecutive failed runs that raise an alert",
    accepted: 'an integer from 1 to 100',
    default: '3',
    parse: integer(1, 100),
  },
  ALERT_SLOW_RUN_FACTOR: {
    description:
      "A run taking longer than this many times the workflow's median duration (last 14 runs) raises an alert",
    accepted: 'a decimal number from 1 to 100 such as 2',
    default: '2',
    parse: decimal(1, 100),
  },
  ALERT_SLOW_RUN_MIN_RUNS: {
    description:
      'Completed runs of a workflow needed before a slow-run alert can fire (fewer say nothing about its normal duration)',
    accepted: 'an integer from 1 to 14',
    default: '5',
    parse: integer(1, 14),
  },
  ALERT_SLOW_RUN_FLOOR_SECONDS: {
    description: 'A run shorter than this never raises a slow-run alert, whatever its median',
    accepted: 'an integer from 0 to 86400',
    default: '60',
    parse: integer(0, 86400),
  },
  DEAD_MANS_SWITCH_GRACE_SECONDS: {
    description:
      'An enabled workflow with no completed scheduled run for longer than its period plus this raises an alert',
    accepted: 'an integer from 0 to 604800',
    default: '3600',
    parse: integer(0, 604800),
  },
  ALERTS_CHECK_INTERVAL_SECONDS: {
    description: "How often the leader checks the dead man's switch, deadlines and slow runs",
    accepted: 'an integer from 5 to 3600',
    default: '60',
    parse: integer(5, 3600),
  },
  WORKFLOW_DEADLINES: {
    description:
      'Local times by which every tenant must be done, per workflow and optionally per tier; misses are counted and alerted',
    accepted:
      'comma-separated workflow[@tier]=HH:MM such as daily_operations=08:30,daily_operations@enterprise=08:15',
    parse: parseDeadlines,
  },
} satisfies Record<string, VarSpec<unknown>>;

export type EnvName = keyof typeof ENV_SCHEMA;
type Parsed<S> = S extends VarSpec<infer T> ? T : never;
type HasDefault<S> = S extends { default: string } ? true : false;

/** The validated configuration: variables with a default are always present. */
export type Env = {
  [K in EnvName]: HasDefault<(typeof ENV_SCHEMA)[K]> extends true
    ? Parsed<(typeof ENV_SCHEMA)[K]>
    : Parsed<(typeof ENV_SCHEMA)[K]> | undefined;
};

export const SERVICE_URL_VARS = [
  'TENANT_SERVICE_URL',
  'FORECASTING_SERVICE_URL',
  'PRODUCTION_SERVICE_URL',
  'PROCUREMENT_SERVICE_URL',
  'INVENTORY_SERVICE_URL',
  'NOTIFICATION_SERVICE_URL',
  'TRAINING_SERVICE_URL',
  'ALERT_PROCESSOR_SERVICE_URL',
] as const satisfies readonly EnvName[];

/** Every downstream service URL variable pointed at one base URL (the simulator serves them all). */
export function serviceUrls(url: string): Record<(typeof SERVICE_URL_VARS)[number], string> {
  return Object.fromEntries(SERVICE_URL_VARS.map((name) => [name, url])) as Record<
    (typeof SERVICE_URL_VARS)[number],
    string
  >;
}
