import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule } from 'src/clients/clients.module';
import { AppError } from 'src/common/errors/app-error';
import { RedisModule } from 'src/common/redis/redis.module';
import { commandContextModule } from 'src/command-context';
import { Env } from 'src/config/env.schema';
import { EventsModule } from 'src/events/events.module';
import { ExecutionsModule } from './executions.module';
import { ExecutionCommandsService } from './execution-commands.service';
import { ExecutionQueriesService } from './execution-queries.service';

export const RUN_USAGE = `node dist/cli.js run <workflow> [--tenants id,id,...] [--wait] [--allow-concurrent] [--dry-run]`;

interface RunArgs {
  workflow: string;
  tenantIds?: string[];
  wait: boolean;
  allowConcurrent: boolean;
  dryRun: boolean;
}

export class RunUsageError extends Error {}

export function parseRunArgs(argv: string[]): RunArgs {
  const args: RunArgs = { workflow: '', wait: false, allowConcurrent: false, dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--wait') args.wait = true;
    else if (a === '--allow-concurrent') args.allowConcurrent = true;
    else if (a === '--dry-run') args.dryRun = true;
    else if (a === '--tenants') {
      const list = argv[++i];
      if (!list) throw new RunUsageError('--tenants needs a comma-separated list of tenant ids');
      args.tenantIds = list
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
    } else if (a.startsWith('--')) throw new RunUsageError(`unknown option "${a}"`);
    else if (!args.workflow) args.workflow = a;
    else throw new RunUsageError(`unexpected argument "${a}"`);
  }
  if (!args.workflow) throw new RunUsageError('name the workflow to run, e.g. daily_operations');
  return args;
}

/**
 * What a one-shot run needs: the engine and its dependencies, without the HTTP server,
 * leader election or the scheduler (a CLI process must not start firing slots).
 */
@Module({})
class RunCommandModule {
  static forRoot(env: Env): DynamicModule {
    return commandContextModule(RunCommandModule, env, [
      RedisModule,
      EventsModule,
      ClientsModule,
      ExecutionsModule,
    ]);
  }
}

/**
 * `run`: starts a manual run. With --wait it also runs the tenants in this process
 * (the embedded database cannot be shared with a service process), shows progress on
 * stderr and exits 0 only if the run completed; without it, the service's runners
 * pick the run up from the database. The last stdout line is JSON.
 */
export async function runWorkflowCommand(
  argv: string[],
  env: Env,
  out: (line: string) => void,
): Promise<number> {
  let args: RunArgs;
  try {
    args = parseRunArgs(argv);
  } catch (err) {
    if (err instanceof RunUsageError) {
      process.stderr.write(`run: ${err.message}\nUsage: ${RUN_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  const app = await NestFactory.createApplicationContext(RunCommandModule.forRoot(env), {
    bufferLogs: true,
  });
  try {
    const executions = app.get(ExecutionCommandsService);
    const queries = app.get(ExecutionQueriesService);
    let started;
    try {
      started = await executions.executeManually(
        args.workflow,
        {
          tenant_ids: args.tenantIds,
          dry_run: args.dryRun,
          allow_concurrent: args.allowConcurrent,
        },
        null,
      );
    } catch (err) {
      if (err instanceof AppError) {
        process.stderr.write(`run: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    if (args.dryRun || !args.wait) {
      if (!args.dryRun && !env.DATABASE_URL) {
        process.stderr.write(
          'run: with the embedded database only this process can run it; it stops now, so pass --wait to run it here\n',
        );
      }
      out(JSON.stringify(started));
      return 0;
    }
    const id = (started as { execution_id: string }).execution_id;
    let progress = await queries.progress(id);
    while (progress.status === 'running' || progress.status === 'pending') {
      const done = ['completed', 'failed', 'cancelled'].reduce(
        (n, s) => n + (progress.by_status[s] ?? 0),
        0,
      );
      process.stderr.write(
        `${args.workflow}: ${done}/${progress.tenants_total} tenants done, ${progress.by_status.failed ?? 0} failed\n`,
      );
      await new Promise((r) => setTimeout(r, 1000));
      progress = await queries.progress(id);
    }
    out(
      JSON.stringify({
        execution_id: id,
        status: progress.status,
        ...progress.result_summary,
        error_message: progress.error_message,
      }),
    );
    return progress.status === 'completed' ? 0 : 1;
  } finally {
    await app.close();
  }
}
