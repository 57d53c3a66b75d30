/**
 * bench/write-path: PostgreSQL's share of a fan-out, without the HTTP calls, the simulator
 * or the engine's JavaScript: the statements the engine sends for N tenants x
 * daily_operations, through the same repository methods (ExecutionsRepository), in the
 * engine's pattern: the run's tenant rows, claims of a fifth of the slots at a time, group
 * commits of the next step of up to --batch tenants in flight with their log lines, and the
 * final states of those whose last step was in an earlier commit.
 *
 * It reports the CPU the database's backends used from the first claim on (from /proc, the
 * backends of the bench's own database only; the run's creation is not counted), per 1,000
 * steps, the WAL written per step, and, from EXPLAIN ANALYZE of every --explain-every-th
 * group commit in a separate pass, where a commit's time goes: the step rows, the log rows,
 * the foreign-key checks of each, the final states, and the JSON decoding of the three
 * documents the commit carries. On a 2-core machine that PostgreSQL
 * shares with the service and the simulator, bench:fanout's "PostgreSQL and the rest" moves
 * by a third between rounds; this bench runs alone, so the figure moves much less.
 *
 *   npm run bench:write-path -- --tenants 10000 --rounds 3
 *   npm run bench:write-path -- --tenants 10000 --rounds 3 --what-if log-row-per-tenant
 *
 * --what-if prices a contract change (WHAT_IFS) before anyone decides on it: the same work
 * with the schema or the rows changed as the change would. None is what the service does.
 *
 * Step results, summaries and log lines have the sizes a bench:fanout run wrote (the mean
 * per step of daily_operations against the simulator, read on 2026-12-07: RESULT_BYTES).
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) is the server on
 * which a throwaway database is created and dropped.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source';
import {
  ExecutionsRepository,
  FinalState,
  LogRow,
  StepRow,
} from 'src/executions/executions.repository';
import { createBenchDatabase } from '../bench-database';
import { intArg, textArg, UsageError, DAILY_OPERATIONS } from '../fanout/shared';
import { processCpuS, spread } from '../machine';

const MAX_ROUNDS = 20;
/** the group commit's prepared statement (ExecutionsRepository.writeState) */
const WRITE_STATE = 'orchestrator_write_state';
/** mean size of each step's result JSON in a bench:fanout run, in daily_operations' order */
const RESULT_BYTES = [289, 243, 1012, 502, 1460, 275];
const OWNER = 'bench-write-path';
/**
 * What-ifs: the same work with the schema or the rows changed as a contract change would,
 * to price it before anyone decides on it. None of them is what the service does.
 */
const WHAT_IFS = {
  'no-step-fk': 'the steps table without its foreign key to the executions table',
  'log-row-per-tenant':
    "one log row per tenant execution (its steps' entries as an array in log_data), written with its final state",
  'no-log-rows': 'no log rows at all (the floor of any change to them)',
} as const;
type WhatIf = keyof typeof WHAT_IFS;
const LEASE_MS = 60_000;

interface Pass {
  wallS: number;
  pgCpuS: number;
  walBytes: number;
  commits: number;
  claims: number;
  claimMs: number;
  plans: ExplainedCommit[];
}

interface RoundFigures {
  wall_s: number;
  pg_cpu_s: number;
  pg_cpu_ms_per_1000_steps: number;
  wal_bytes_per_step: number;
  commits: number;
  claims: number;
  claim_ms_mean: number;
}

interface ExplainedCommit {
  'Execution Time': number;
  Plan: PlanNode;
  Triggers?: { 'Constraint Name'?: string; Relation: string; Time: number; Calls: number }[];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Total Time'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** A result object of about `bytes` bytes of JSON, shaped like the services' answers. */
function resultOf(bytes: number, step: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    tenant_id: randomUUID(),
    step,
    generated_at: new Date().toISOString(),
    count: 217,
  };
  const items: { id: string; quantity: number }[] = [];
  while (JSON.stringify(out).length + JSON.stringify(items).length < bytes - 20) {
    items.push({ id: randomUUID(), quantity: 12.5 });
  }
  out.items = items;
  return out;
}

async function onePass(
  tenants: number,
  concurrency: number,
  batch: number,
  explainEvery: number,
  whatIf: Set<WhatIf>,
) {
  const database = await createBenchDatabase('orch_write_path');
  const dataSource = new DataSource({
    ...buildDataSourceOptions({ DATABASE_URL: database.url, DATA_DIR: '' }),
    logging: false,
  });
  try {
    await dataSource.initialize();
    await dataSource.runMigrations();
    if (whatIf.has('no-step-fk')) {
      const [fk] = await dataSource.query(
        `SELECT conname FROM pg_constraint
          WHERE conrelid = 'orchestrator_execution_steps'::regclass AND contype = 'f'`,
      );
      await dataSource.query(
        `ALTER TABLE orchestrator_execution_steps DROP CONSTRAINT ${fk.conname}`,
      );
    }
    return await drive(dataSource, tenants, concurrency, batch, explainEvery, whatIf);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await database.drop();
  }
}

async function drive(
  dataSource: DataSource,
  tenants: number,
  concurrency: number,
  batch: number,
  explainEvery: number,
  whatIf: Set<WhatIf>,
): Promise<Pass> {
  const repository = new ExecutionsRepository(dataSource);
  const steps = DAILY_OPERATIONS.steps;
  const results = steps.map((s, i) => resultOf(RESULT_BYTES[i % RESULT_BYTES.length], s.name));
  const [workflow] = await dataSource.query(
    `INSERT INTO orchestrator_workflows (workflow_name, workflow_type, steps)
     VALUES ($1, 'daily', $2) RETURNING id`,
    [DAILY_OPERATIONS.workflowName, JSON.stringify(steps)],
  );
  const now = new Date();
  const parent = {
    workflowId: workflow.id as string,
    workflowName: DAILY_OPERATIONS.workflowName,
    executionType: 'scheduled' as const,
    triggeredBy: null,
    scheduledFor: now,
    retryOf: null,
    leaderTerm: '1',
    deadlineAt: new Date(now.getTime() + 3_600_000),
    stepsTotal: steps.length,
    status: 'running' as const,
    now,
  };
  await repository.transaction(async (tx) => {
    const { id } = await repository.insertParent(tx, parent);
    const children = Array.from({ length: tenants }, () => ({
      tenantId: randomUUID(),
      priority: 0,
      timezone: null,
    }));
    await repository.insertChildren(tx, id, parent, children, false);
  });
  // as the service does once a run's tenants are in (RunExpander): the claim's plan needs them
  await repository.refreshStatistics();

  // every backend of this database, counted from here on (the pool opens them as it goes)
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const backends = async (): Promise<number[]> =>
    (
      await dataSource.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
    ).map((r: { pid: number }) => r.pid);
  await Promise.all(Array.from({ length: 4 }, () => dataSource.query('SELECT 1')));
  const cpuBefore = new Map((await backends()).map((pid) => [pid, processCpuS(pid)]));
  const [{ lsn: walBefore }] = await dataSource.query(`SELECT pg_current_wal_lsn() AS lsn`);
  const started = performance.now();

  // the group commit's statement, sampled through EXPLAIN ANALYZE (a separate pass)
  const plans: ExplainedCommit[] = [];
  let commitNo = 0;
  const query = pool.query.bind(pool) as (q: unknown) => Promise<{ rows: unknown[] }>;
  if (explainEvery > 0) {
    (pool as unknown as { query: unknown }).query = async (q: {
      name?: string;
      text: string;
      values: string[];
    }) => {
      if (q?.name !== WRITE_STATE || ++commitNo % explainEvery !== 0) return query(q);
      const res = await query({
        name: `${WRITE_STATE}_explained`,
        text: `EXPLAIN (ANALYZE, FORMAT JSON) ${q.text}`,
        values: q.values,
      });
      plans.push((res.rows[0] as Record<string, ExplainedCommit[]>)['QUERY PLAN'][0]);
      // what the statement returns: the ids of the finals applied (all of them, here)
      return { rows: (JSON.parse(q.values[2]) as { id: string }[]).map((f) => ({ id: f.id })) };
    };
  }

  type Tenant = { id: string; next: number; entries?: LogRow[] };
  let inFlight: Tenant[] = [];
  let waitingFinal: Tenant[] = [];
  let finished = 0;
  let commits = 0;
  let claims = 0;
  let claimMs = 0;
  const runStarted = new Date();
  const allCompleted = { steps: Object.fromEntries(steps.map((s) => [s.name, 'completed'])) };
  while (finished < tenants) {
    const room = concurrency - inFlight.length - waitingFinal.length;
    if (room >= Math.max(1, Math.floor(concurrency / 5))) {
      const t = performance.now();
      const claimed = await repository.claim(OWNER, room, LEASE_MS);
      claimMs += performance.now() - t;
      claims++;
      inFlight.push(...claimed.map((c) => ({ id: c.id, next: 0 })));
    }
    const stepRows: StepRow[] = [];
    const logRows: LogRow[] = [];
    if (whatIf.has('log-row-per-tenant')) {
      for (const t of waitingFinal) {
        const entries = t.entries ?? [];
        logRows.push({
          executionId: t.id,
          stepName: 'execution',
          stepIndex: steps.length,
          level: 'info',
          message: `${entries.length} steps logged`,
          data: entries.map((e) => ({
            step_name: e.stepName,
            step_index: e.stepIndex,
            log_level: e.level,
            log_message: e.message,
            log_data: e.data,
            logged_at: e.at,
          })),
          at: new Date(),
        });
      }
    }
    const finals: FinalState[] = waitingFinal.map((t) => ({
      id: t.id,
      owner: OWNER,
      status: 'completed',
      completedAt: new Date(),
      durationSeconds: 1,
      stepsCompleted: steps.length,
      stepsFailed: 0,
      errorMessage: null,
      resultSummary: allCompleted,
      attempt: 1,
      nextAttemptAt: null,
      startedAt: runStarted,
    }));
    const taken = inFlight.slice(0, batch);
    for (const t of taken) {
      const step = steps[t.next];
      const at = new Date();
      stepRows.push({
        executionId: t.id,
        stepName: step.name,
        stepIndex: t.next,
        status: 'completed',
        result: results[t.next],
        summary: { text: 'Generated 217 forecasts for 31 products', figures: { forecasts: 217 } },
        errorMessage: null,
        startedAt: at,
        completedAt: at,
      });
      const entry: LogRow = {
        executionId: t.id,
        stepName: step.name,
        stepIndex: t.next,
        level: 'info',
        message: `${step.name} completed: Generated 217 forecasts for 31 products over 7 days`,
        data: {
          operation: step.operation,
          duration_ms: 115,
          attempt: 1,
          summary: { forecasts: 217 },
        },
        at,
      };
      if (whatIf.has('log-row-per-tenant')) (t.entries ??= []).push(entry);
      else if (!whatIf.has('no-log-rows')) logRows.push(entry);
      t.next++;
    }
    if (stepRows.length === 0 && finals.length === 0)
      throw new Error(`nothing left to claim with ${tenants - finished} tenants unfinished`);
    const applied = await repository.writeState(stepRows, logRows, finals);
    if (applied.size !== finals.length)
      throw new Error(`${finals.length - applied.size} final states were not applied`);
    commits++;
    finished += finals.length;
    // those whose last step was in this commit send their final state with the next one
    waitingFinal = taken.filter((t) => t.next === steps.length);
    // the rest go to the back: the next commit takes other tenants' steps first
    const rest = inFlight.slice(taken.length);
    inFlight = [...rest, ...taken.filter((t) => t.next < steps.length)];
  }
  const wallS = (performance.now() - started) / 1000;
  let pgCpuS = 0;
  for (const pid of await backends()) pgCpuS += processCpuS(pid) - (cpuBefore.get(pid) ?? 0);
  const [{ bytes }] = await dataSource.query(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS bytes`,
    [walBefore],
  );
  return { wallS, pgCpuS, walBytes: Number(bytes), commits, claims, claimMs, plans };
}

/** Where the sampled commits' time went, in ms per commit. */
function breakdown(plans: ExplainedCommit[]) {
  const sum: Record<string, number> = {};
  const add = (k: string, ms: number) => (sum[k] = (sum[k] ?? 0) + ms);
  const walk = (n: PlanNode) => {
    if (n['Node Type'] === 'ModifyTable') {
      const decode = (n.Plans ?? [])
        .filter((c) => c['Node Type'] === 'Function Scan')
        .reduce((a, c) => a + (c['Actual Total Time'] ?? 0), 0);
      const name = (n['Relation Name'] ?? '').replace(/^orchestrator_/, '');
      add(
        `${name === 'executions' ? 'final_states' : name}_write`,
        (n['Actual Total Time'] ?? 0) - decode,
      );
      add('json_decode', decode);
    }
    for (const c of n.Plans ?? []) walk(c);
  };
  for (const p of plans) {
    walk(p.Plan);
    add('total', p['Execution Time']);
    for (const t of p.Triggers ?? [])
      add(`${t.Relation.replace(/^orchestrator_/, '')}_foreign_key_checks`, t.Time);
  }
  const perCommit: Record<string, number> = {};
  for (const [k, v] of Object.entries(sum)) perCommit[k] = +(v / plans.length).toFixed(3);
  const named = Object.entries(perCommit)
    .filter(([k]) => k !== 'total')
    .reduce((a, [, v]) => a + v, 0);
  perCommit.other = +(perCommit.total - named).toFixed(3);
  return perCommit;
}

async function main(): Promise<void> {
  const tenants = intArg('tenants', 10000);
  const concurrency = intArg('concurrency', 100);
  const batch = intArg('batch', 80);
  const rounds = intArg('rounds', 1);
  const explainEvery = intArg('explain-every', 5, 0);
  if (rounds > MAX_ROUNDS)
    throw new UsageError(`--rounds must be at most ${MAX_ROUNDS}, got ${rounds}`);
  const whatIf = new Set<WhatIf>();
  for (const name of textArg('what-if', '').split(',').filter(Boolean)) {
    if (!(name in WHAT_IFS))
      throw new UsageError(
        `--what-if takes a comma-separated list of ${Object.keys(WHAT_IFS).join(', ')}; got "${name}"`,
      );
    whatIf.add(name as WhatIf);
  }
  if (whatIf.has('log-row-per-tenant') && whatIf.has('no-log-rows'))
    throw new UsageError('--what-if: log-row-per-tenant and no-log-rows exclude each other');
  for (const w of whatIf) process.stderr.write(`what-if ${w}: ${WHAT_IFS[w]}\n`);
  const stepsTotal = tenants * DAILY_OPERATIONS.steps.length;
  const each: RoundFigures[] = [];
  for (let r = 1; r <= rounds; r++) {
    const p = await onePass(tenants, concurrency, batch, 0, whatIf);
    const figures: RoundFigures = {
      wall_s: +p.wallS.toFixed(2),
      pg_cpu_s: +p.pgCpuS.toFixed(2),
      pg_cpu_ms_per_1000_steps: +((p.pgCpuS * 1e6) / stepsTotal).toFixed(1),
      wal_bytes_per_step: Math.round(p.walBytes / stepsTotal),
      commits: p.commits,
      claims: p.claims,
      claim_ms_mean: +(p.claimMs / p.claims).toFixed(2),
    };
    each.push(figures);
    process.stderr.write(`round ${r}/${rounds}: ${JSON.stringify(figures)}\n`);
  }
  let sampled: ReturnType<typeof breakdown> | null = null;
  let sampledCommits = 0;
  if (explainEvery > 0) {
    process.stderr.write(`breakdown pass: EXPLAIN ANALYZE of every ${explainEvery}th commit\n`);
    const p = await onePass(tenants, concurrency, batch, explainEvery, whatIf);
    sampled = breakdown(p.plans);
    sampledCommits = p.plans.length;
  }
  const pick = (k: keyof RoundFigures) => spread(each.map((e) => e[k]));
  process.stdout.write(
    `${JSON.stringify(
      {
        tenants,
        steps: stepsTotal,
        concurrency,
        batch,
        rounds,
        what_if: [...whatIf],
        pg_cpu_ms_per_1000_steps: pick('pg_cpu_ms_per_1000_steps'),
        pg_cpu_s: pick('pg_cpu_s'),
        wal_bytes_per_step: pick('wal_bytes_per_step'),
        claim_ms_mean: pick('claim_ms_mean'),
        commits: each[0].commits,
        claims: each[0].claims,
        commit_breakdown_ms: sampled && { sampled_commits: sampledCommits, ...sampled },
        each,
      },
      null,
      2,
    )}\n`,
  );
}

main().catch((err: Error) => {
  process.stderr.write(
    err instanceof UsageError ? `${err.message}\n` : `bench failed: ${err.stack ?? err.message}\n`,
  );
  process.exit(err instanceof UsageError ? 2 : 1);
});
