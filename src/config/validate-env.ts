import { ENV_SCHEMA, Env, EnvName, SERVICE_URL_VARS } from './env.schema';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const show = (raw: string) => JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw);

/**
 * Reads and checks every variable at once, so an operator fixes all problems in one go
 * rather than one restart per typo. Throws ConfigError listing each problem with the
 * variable, the value seen and what is accepted.
 */
export function validateEnv(source: Record<string, string | undefined>): Env {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const isProduction = (source.NODE_ENV ?? '').trim().toLowerCase() === 'production';

  for (const name of Object.keys(ENV_SCHEMA) as EnvName[]) {
    const spec = ENV_SCHEMA[name];
    const given = source[name];
    const isServiceUrl = (SERVICE_URL_VARS as readonly string[]).includes(name);
    if (given === undefined || given === '') {
      if (isServiceUrl && isProduction) {
        problems.push(
          `${name} is not set; expected ${spec.accepted} (required when NODE_ENV=production)`,
        );
        continue;
      }
      const fallback = 'default' in spec ? spec.default : undefined;
      out[name] =
        fallback === undefined ? undefined : (spec.parse as (r: string) => unknown)(fallback);
      continue;
    }
    const value = (spec.parse as (r: string) => unknown)(given);
    if (value === undefined) {
      problems.push(`${name}=${show(given)} is not valid; expected ${spec.accepted}`);
    } else {
      out[name] = value;
    }
  }

  const env = out as Env;
  if (
    typeof env.LEADER_HEARTBEAT_SECONDS === 'number' &&
    typeof env.LEADER_LOCK_TTL_SECONDS === 'number' &&
    env.LEADER_HEARTBEAT_SECONDS >= env.LEADER_LOCK_TTL_SECONDS
  ) {
    problems.push(
      `LEADER_HEARTBEAT_SECONDS=${env.LEADER_HEARTBEAT_SECONDS} must be below LEADER_LOCK_TTL_SECONDS=${env.LEADER_LOCK_TTL_SECONDS}; ` +
        'a leader renews before its lock expires (e.g. heartbeat 30, TTL 90)',
    );
  }
  if (env.ORCH_TEST_CRASH_AFTER_CLAIM === true && env.NODE_ENV !== 'test') {
    problems.push(
      `ORCH_TEST_CRASH_AFTER_CLAIM=true needs NODE_ENV=test (it is ${env.NODE_ENV}); ` +
        'the hook kills the process on purpose and is for tests only',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return env;
}
