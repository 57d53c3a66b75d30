import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_SCHEMA } from './env.schema';
import { ConfigError, validateEnv } from './validate-env';

function problemsOf(env: Record<string, string>): string[] {
  try {
    validateEnv(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe(validateEnv.name, () => {
  it('applies the documented defaults when nothing is set', () => {
    const env = validateEnv({});
    expect(env).toMatchObject({
      PORT: 8018,
      DAILY_WORKFLOW_CRON: '0 8 * * *',
      WEEKLY_WORKFLOW_CRON: '0 9 * * 1',
      DEFAULT_TIMEZONE: 'Europe/Madrid',
      MAX_WORKFLOW_DURATION_SECONDS: 3600,
      ENABLE_LEADER_ELECTION: true,
      LEADER_HEARTBEAT_SECONDS: 30,
      LEADER_LOCK_TTL_SECONDS: 90,
      DATA_DIR: './data',
      LOG_LEVEL: 'info',
      RUN_MIGRATIONS: true,
    });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.RABBITMQ_URL).toBeUndefined();
  });

  it('reads typed values', () => {
    const env = validateEnv({
      PORT: '9000',
      ENABLE_LEADER_ELECTION: 'false',
      DATABASE_URL: 'postgres://u@db:5432/orch',
      FORECASTING_SERVICE_URL: 'http://forecasting:8000/',
    });
    expect(env.PORT).toBe(9000);
    expect(env.ENABLE_LEADER_ELECTION).toBe(false);
    expect(env.DATABASE_URL).toBe('postgres://u@db:5432/orch');
    expect(env.FORECASTING_SERVICE_URL).toBe('http://forecasting:8000');
  });

  it.each([
    ['PORT', 'abc', 'an integer from 1 to 65535'],
    ['PORT', '70000', 'an integer from 1 to 65535'],
    ['DAILY_WORKFLOW_CRON', '61 8 * * *', 'five-field cron'],
    ['WEEKLY_WORKFLOW_CRON', 'every monday', 'five-field cron'],
    ['DEFAULT_TIMEZONE', 'Europe/Atlantis', 'IANA timezone'],
    ['MAX_WORKFLOW_DURATION_SECONDS', '-5', 'an integer from 1 to 86400'],
    ['ENABLE_LEADER_ELECTION', 'maybe', 'true or false'],
    ['FORECASTING_SERVICE_URL', 'forecasting:8000', 'http(s) URL'],
    ['DATABASE_URL', 'mysql://db/x', 'postgres://'],
    ['REDIS_URL', 'http://redis', 'redis://'],
    ['RABBITMQ_URL', 'not a url', 'amqp://'],
    ['LOG_LEVEL', 'loud', 'one of fatal'],
    ['CLOCK_SKEW_MAX_SECONDS', '0', 'an integer from 1 to 3600'],
  ])('names %s=%s and what is accepted', (name, value, accepted) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${name}="${value}"`);
    expect(problems[0]).toContain(accepted);
  });

  it('refuses a heartbeat that is not below the lock TTL', () => {
    const problems = problemsOf({ LEADER_HEARTBEAT_SECONDS: '90', LEADER_LOCK_TTL_SECONDS: '90' });
    expect(problems).toEqual([
      expect.stringContaining(
        'LEADER_HEARTBEAT_SECONDS=90 must be below LEADER_LOCK_TTL_SECONDS=90',
      ),
    ]);
  });

  it('refuses the crash-after-claim test hook outside NODE_ENV=test', () => {
    expect(problemsOf({ ORCH_TEST_CRASH_AFTER_CLAIM: 'true', NODE_ENV: 'development' })).toEqual([
      expect.stringContaining('ORCH_TEST_CRASH_AFTER_CLAIM=true needs NODE_ENV=test'),
    ]);
    expect(problemsOf({ ORCH_TEST_CRASH_AFTER_CLAIM: 'true', NODE_ENV: 'test' })).toEqual([]);
  });

  it('reports every problem at once, one line each', () => {
    const problems = problemsOf({ PORT: 'x', DEFAULT_TIMEZONE: 'Mars/Base', REDIS_URL: 'nope' });
    expect(problems.map((p) => p.split('=')[0])).toEqual(['PORT', 'REDIS_URL', 'DEFAULT_TIMEZONE']);
  });

  it('requires every service URL in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production', FORECASTING_SERVICE_URL: 'http://f:1' });
    expect(problems.some((p) => p.startsWith('FORECASTING_SERVICE_URL'))).toBe(false);
    expect(problems).toContainEqual(expect.stringContaining('TENANT_SERVICE_URL is not set'));
    expect(problems).toHaveLength(7);
  });

  it('lists every variable in .env.example', () => {
    const example = readFileSync(join(__dirname, '../../.env.example'), 'utf8');
    for (const name of Object.keys(ENV_SCHEMA)) {
      expect(example).toMatch(new RegExp(`^#?\\s*${name}=`, 'm'));
    }
  });
});
