import { Logger } from '@nestjs/common';
import { LeaderGate } from './leader-gate';

/** Metadata on the wrapped method, so LeaderOnlyExplorer can check the wiring at boot. */
export const LEADER_ONLY_METADATA = 'orchestrator:leader-only';

/** The LeaderGate an instance was given through its constructor, if any. */
export function findLeaderGate(instance: object): LeaderGate | undefined {
  return Object.values(instance).find((v): v is LeaderGate => v instanceof LeaderGate);
}

/**
 * For jobs that must run once per slot across replicas (with `@Cron`, `@Interval`, or
 * called from a timer): the method runs only on the leader and receives the leader's
 * fencing term, which its writes must carry (see `fencingCondition`). On a follower it
 * returns undefined without running. It also never overlaps itself on one instance: a
 * call while the previous one is still running is skipped. Errors are logged, never
 * rethrown, so a timer can never produce an unhandled rejection.
 *
 * The class must inject `LeaderGate` in its constructor; LeaderModule refuses to boot
 * otherwise. Decorator order with `@Cron` does not matter.
 *
 * ```ts
 * @Cron('5 * * * *', { timeZone: 'Europe/Madrid' })
 * @LeaderOnly()
 * async trackDeliveries(term: string): Promise<void> { ... }
 * ```
 */
export function LeaderOnly() {
  return <M extends (term: string) => Promise<unknown> | unknown>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): TypedPropertyDescriptor<M> => {
    const original = descriptor.value;
    if (typeof original !== 'function') throw new Error('@LeaderOnly() decorates methods only');
    const job = `${target.constructor.name}.${String(key)}`;
    const logger = new Logger('LeaderOnly');
    const running = new WeakSet<object>();

    const wrapped = async function (this: object): Promise<unknown> {
      const gate = findLeaderGate(this);
      if (!gate) {
        logger.error({ msg: 'job skipped: its class does not inject LeaderGate', job });
        return undefined;
      }
      if (running.has(this)) {
        logger.warn({ msg: 'job skipped: the previous run is still going', job });
        return undefined;
      }
      running.add(this);
      try {
        const outcome = await gate.runIfLeader(async (term) => original.call(this, term));
        if (!outcome.ran) {
          logger.debug({ msg: 'job skipped: this instance is not the leader', job });
          return undefined;
        }
        return outcome.value;
      } catch (err) {
        logger.error({
          msg: 'job failed',
          job,
          error: err instanceof Error ? err.message : String(err),
          stack: err instanceof Error ? err.stack : undefined,
        });
        return undefined;
      } finally {
        running.delete(this);
      }
    };

    // @Cron and friends store their metadata on the function object; keep it whichever
    // decorator ran first
    for (const metaKey of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(metaKey, Reflect.getOwnMetadata(metaKey, original), wrapped);
    }
    Object.defineProperty(wrapped, 'name', { value: original.name });
    Reflect.defineMetadata(LEADER_ONLY_METADATA, job, wrapped);
    descriptor.value = wrapped as unknown as M;
    return descriptor;
  };
}
