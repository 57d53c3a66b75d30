import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { PeriodicJobs } from '../jobs/periodic-jobs';
import { IdempotencyError, IdempotencyErrorCode } from './idempotency.errors';
import { IDEMPOTENCY_HEADER, requestHash } from './idempotency-key';
import { IdempotencyRepository, KeyScope, QueryExecutor } from './idempotency.repository';

/** How long a key answers with its first response. */
export const KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** A request that holds a key this long without answering is presumed dead; its key may be taken over. */
const LOCK_MS = 120_000;
/** How long a second request with the same key waits for the first answer before a 409. */
const DEFAULT_WAIT_MS = 10_000;
const POLL_MS = 100;
const CLEANUP_INTERVAL_MS = 10 * 60 * 1000;
export const IDEMPOTENCY_CLEANUP_JOB = 'idempotency.cleanup';
const CLEANUP_BATCH = 1000;
const CLEANUP_MAX_BATCHES = 20;

export interface IdempotentCommand {
  /** the route template, e.g. `POST /workflows/{id}/execute` */
  route: string;
  /** the path parameter as sent (workflow id or name, execution id) */
  target: string;
  /** the caller (token `sub`): two callers never share a key */
  subject: string;
  key: string | undefined;
  body: unknown;
  /** the status a first answer is sent with (the route's success code) */
  status: number;
}

/** The key a command runs under (`run`), for `answerWithin`. */
interface HeldKey {
  scope: KeyScope;
  token: string;
  status: number;
}

export interface CommandAnswer<T> {
  status: number;
  body: T;
  /** true when this is the stored answer of an earlier request with the same key */
  replayed: boolean;
}

/**
 * Idempotency-Key for commands (execute, retry, backfill), with the semantics of the IETF
 * draft and Stripe: the first request with a key does the work and its answer is stored
 * for 24 h; a repeat with the same body gets that answer back (same status and body); a
 * repeat with another body is a 422. A repeat that arrives while the first is still being
 * processed waits for its answer (up to 10 s, then 409): so N concurrent identical requests
 * get N identical answers and do the work once. An error is not stored: the key is given
 * back, and the same request may be sent again. The unique key in PostgreSQL decides which
 * request does the work.
 */
@Injectable()
export class IdempotencyService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(IdempotencyService.name);
  private cleaning?: Promise<void>;
  private readonly held = new AsyncLocalStorage<HeldKey>();

  constructor(
    private readonly repository: IdempotencyRepository,
    private readonly jobs: PeriodicJobs,
  ) {}

  onModuleInit(): void {
    // on every instance: deleting expired keys twice is harmless, and needs no leader
    this.jobs.register(
      IDEMPOTENCY_CLEANUP_JOB,
      { everyMs: CLEANUP_INTERVAL_MS },
      { leaderOnly: false, run: () => this.cleanUp() },
    );
  }

  async onModuleDestroy(): Promise<void> {
    this.jobs.remove(IDEMPOTENCY_CLEANUP_JOB);
    await this.cleaning;
  }

  /** Runs `handler` once per key; without a key it simply runs it. */
  async run<T>(
    command: IdempotentCommand,
    handler: () => Promise<T>,
    waitMs = DEFAULT_WAIT_MS,
  ): Promise<CommandAnswer<T>> {
    if (command.key === undefined) {
      return { status: command.status, body: await handler(), replayed: false };
    }
    const scope: KeyScope = {
      route: command.route,
      target: command.target.slice(0, 255),
      subject: command.subject.slice(0, 255),
      key: command.key,
    };
    const hash = requestHash(command.body);
    // bounded by polls rather than by the clock: each poll sleeps POLL_MS on average
    for (let polls = Math.ceil(waitMs / POLL_MS); ; polls--) {
      const token = randomUUID();
      if (await this.repository.claim(scope, hash, token, LOCK_MS, KEY_TTL_MS)) {
        return this.runAsOwner(scope, token, command.status, handler);
      }
      const stored = await this.repository.find(scope);
      if (stored && stored.requestHash !== hash) {
        throw new IdempotencyError(
          IdempotencyErrorCode.KeyReused,
          `${IDEMPOTENCY_HEADER} "${command.key}" was already used with another request body for ${command.route}; send a new key for a different request`,
          [{ field: IDEMPOTENCY_HEADER, message: 'already used with another request body' }],
        );
      }
      if (stored?.state === 'completed') {
        return { status: stored.responseStatus!, body: stored.responseBody as T, replayed: true };
      }
      // held by a request still being processed (or just released: claim again)
      if (polls <= 0) {
        throw new IdempotencyError(
          IdempotencyErrorCode.InProgress,
          `A request with ${IDEMPOTENCY_HEADER} "${command.key}" is still being processed; send it again in a few seconds to get its answer`,
        );
      }
      if (stored) await sleep(POLL_MS / 2 + Math.random() * POLL_MS);
    }
  }

  private async runAsOwner<T>(
    scope: KeyScope,
    token: string,
    status: number,
    handler: () => Promise<T>,
  ): Promise<CommandAnswer<T>> {
    let body: T;
    try {
      body = await this.held.run({ scope, token, status }, handler);
    } catch (err) {
      await this.repository.release(scope, token).catch((releaseError: Error) =>
        // the key stays held until its lock runs out (2 min); repeats wait, then get a 409
        this.logger.warn({
          msg: 'could not release an idempotency key after an error',
          route: scope.route,
          error: releaseError.message,
        }),
      );
      throw err;
    }
    if (!(await this.repository.complete(scope, token, status, body))) {
      this.logger.warn({
        msg: 'idempotency key lost before its answer was stored (the command outlived its lock)',
        route: scope.route,
        target: scope.target,
      });
    }
    return { status, body, replayed: false };
  }

  /**
   * Stores `body` as the answer of the command running under a key, in the command's own
   * transaction `tx`: it commits with what the command did, or not at all. A process that
   * dies after that commit, before `run` stores the answer itself, leaves the key answered,
   * so a repeat gets this answer instead of doing the work again once the key's lock runs
   * out. `body` must be what the command then returns. Without a key, nothing to do.
   */
  async answerWithin(tx: QueryExecutor, body: unknown): Promise<void> {
    const key = this.held.getStore();
    if (!key) return;
    await this.repository.complete(key.scope, key.token, key.status, body, tx);
  }

  /** Deletes expired keys in bounded batches, so one pass never holds the table for long. */
  async cleanUp(): Promise<number> {
    if (this.cleaning) return 0;
    let deleted = 0;
    const pass = (async () => {
      try {
        for (let i = 0; i < CLEANUP_MAX_BATCHES; i++) {
          const n = await this.repository.deleteExpired(CLEANUP_BATCH);
          deleted += n;
          if (n < CLEANUP_BATCH) break;
        }
      } catch (err) {
        this.logger.warn({
          msg: 'expired idempotency keys not cleaned up',
          error: (err as Error).message,
        });
      }
    })();
    this.cleaning = pass;
    await pass;
    this.cleaning = undefined;
    return deleted;
  }
}

export interface ResponseLike {
  status(code: number): unknown;
  setHeader(name: string, value: string): unknown;
}

/**
 * Sends an answer with its own status; a stored one is marked `Idempotent-Replayed: true`
 * (the header the simulator and Stripe-style services use), so a caller can tell.
 */
export function sendAnswer<T>(res: ResponseLike, answer: CommandAnswer<T>): T {
  res.status(answer.status);
  if (answer.replayed) res.setHeader('Idempotent-Replayed', 'true');
  return answer.body;
}
