import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppError } from 'src/common/errors/app-error';
import { commandContextModule } from 'src/command-context';
import { Env } from 'src/config/env.schema';
import { ExecutionHistoryModule } from 'src/executions/execution-history.module';
import { RunHistoryService } from 'src/executions/run-history.service';
import { durationText, textTable } from './text-table';

export const RUNS_USAGE =
  'node dist/cli.js runs [--workflow name] [--status s] [--limit n] [--json]';
export const RUN_SHOW_USAGE = 'node dist/cli.js run-show <execution id> [--json]';

const STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled', 'skipped'] as const;
type Status = (typeof STATUSES)[number];

export class UsageError extends Error {}

export interface RunsArgs {
  workflow?: string;
  status?: Status;
  limit: number;
  json: boolean;
}

export function parseRunsArgs(argv: string[]): RunsArgs {
  const args: RunsArgs = { limit: 20, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--json') args.json = true;
    else if (a === '--workflow') args.workflow = value();
    else if (a === '--status') {
      const s = value();
      if (!(STATUSES as readonly string[]).includes(s))
        throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, not "${s}"`);
      args.status = s as Status;
    } else if (a === '--limit') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1 || n > 500)
        throw new UsageError('--limit must be an integer from 1 to 500');
      args.limit = n;
    } else throw new UsageError(`unknown argument "${a}"`);
  }
  return args;
}

export function parseRunShowArgs(argv: string[]): { id: string; json: boolean } {
  const json = argv.includes('--json');
  const rest = argv.filter((a) => a !== '--json');
  const unknown = rest.find((a) => a.startsWith('--'));
  if (unknown) throw new UsageError(`unknown option "${unknown}"`);
  if (rest.length !== 1) throw new UsageError('name one execution id');
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(rest[0]))
    throw new UsageError(`"${rest[0]}" is not an execution id (a UUID)`);
  return { id: rest[0], json };
}

/** Reading history needs the database and nothing else: no runners, no HTTP, no leader. */
@Module({})
class HistoryReadModule {
  static forRoot(env: Env): DynamicModule {
    return commandContextModule(HistoryReadModule, env, [ExecutionHistoryModule]);
  }
}

type Out = (line: string) => void;

async function withHistory(
  env: Env,
  name: string,
  fn: (history: RunHistoryService) => Promise<number>,
): Promise<number> {
  // abortOnError false: a boot failure is thrown and reported (main prints it, exit 1)
  // rather than exiting silently with Nest's logger off
  const app = await NestFactory.createApplicationContext(HistoryReadModule.forRoot(env), {
    logger: false,
    abortOnError: false,
  });
  try {
    return await fn(app.get(RunHistoryService));
  } catch (err) {
    if (err instanceof AppError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    await app.close();
  }
}

function msBetween(from: Date | string | null, to: Date | string | null, now: number) {
  if (!from) return null;
  return (to ? new Date(to).getTime() : now) - new Date(from).getTime();
}

function iso(at: Date | string | null): string | null {
  return at ? new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
}

function usage(command: string, text: string, err: unknown): number {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`${command}: ${err.message}\nUsage: ${text}\n`);
  return 2;
}

/** `runs`: the latest runs, one line each (or one JSON document with --json). */
export async function runRunsCommand(argv: string[], env: Env, out: Out): Promise<number> {
  let args: RunsArgs;
  try {
    args = parseRunsArgs(argv);
  } catch (err) {
    return usage('runs', RUNS_USAGE, err);
  }
  return withHistory(env, 'runs', async (history) => {
    const runs = await history.listRuns({
      workflowName: args.workflow,
      status: args.status,
      limit: args.limit,
    });
    if (args.json) {
      out(JSON.stringify({ items: runs }));
      return 0;
    }
    const now = Date.now();
    out(
      textTable(
        ['ID', 'WORKFLOW', 'TYPE', 'STATUS', 'TENANTS OK/FAILED/ALL', 'CREATED', 'DURATION'],
        runs.map((r) => {
          const by = r.tenants_by_status;
          const all = Object.values(by).reduce((a, b) => a + b, 0);
          return [
            r.id,
            r.workflow_name,
            r.execution_type,
            r.status,
            `${by.completed ?? 0}/${(by.failed ?? 0) + (by.cancelled ?? 0)}/${all}`,
            iso(r.created_at),
            durationText(msBetween(r.created_at, r.completed_at, now)),
          ];
        }),
      ),
    );
    if (runs.length === 0) out('(no runs)');
    return 0;
  });
}

/** `run-show <id>`: one run, then one line per tenant x step. */
export async function runRunShowCommand(argv: string[], env: Env, out: Out): Promise<number> {
  let args: { id: string; json: boolean };
  try {
    args = parseRunShowArgs(argv);
  } catch (err) {
    return usage('run-show', RUN_SHOW_USAGE, err);
  }
  return withHistory(env, 'run-show', async (history) => {
    const run = await history.showRun(args.id);
    if (args.json) {
      out(JSON.stringify(run));
      return 0;
    }
    const now = Date.now();
    out(
      textTable(
        ['FIELD', 'VALUE'],
        [
          ['id', run.id],
          ['workflow', run.workflow_name],
          ['type', run.execution_type],
          ['status', run.status],
          ['tenant', run.tenant_id],
          ['scheduled for', iso(run.scheduled_for)],
          ['created', iso(run.created_at)],
          ['completed', iso(run.completed_at)],
          ['duration', durationText(msBetween(run.created_at, run.completed_at, now))],
          [
            'tenants',
            run.tenants_by_status
              ? Object.entries(run.tenants_by_status)
                  .map(([s, n]) => `${s} ${n}`)
                  .join(', ')
              : null,
          ],
          ['error', run.error_message],
        ],
      ),
    );
    const subjects = run.children.length > 0 ? run.children : [run];
    const lines = subjects.flatMap((c) =>
      c.steps.map((s) => [
        c.tenant_id,
        c.status,
        s.name,
        s.status,
        s.attempts,
        durationText(msBetween(s.started_at, s.completed_at, now)),
        s.error_message ?? summaryOf(s),
      ]),
    );
    out('');
    out(
      textTable(['TENANT', 'TENANT STATUS', 'STEP', 'STATUS', 'ATTEMPTS', 'TOOK', 'NOTE'], lines),
    );
    return 0;
  });
}

function summaryOf(step: { result_summary: unknown }): string | null {
  const text = (step.result_summary as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : null;
}
