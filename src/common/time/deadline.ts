/**
 * The one way to bound a wait (docs/architecture.md, guarantee 11), on the platform's own
 * timers: `AbortSignal.timeout` does not keep the process alive and needs no clearing, and
 * `AbortSignal.any` ties a deadline to a caller's cancellation without listeners to undo.
 *
 * The timer runs on real time, not on the injected `Clock`: a deadline bounds how long we
 * wait, not when something is due. Callers whose deadline is an instant compute the
 * remaining milliseconds from their `Clock` first.
 */

/** What timed out and after how long; thrown by `withTimeout`. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';

  constructor(
    readonly label: string,
    readonly ms: number,
  ) {
    super(ms > 0 ? `${label}: no answer within ${ms} ms` : `${label}: no time left`);
  }
}

/**
 * A signal that aborts after `ms` (its reason a DOMException named `TimeoutError`, see
 * `isTimedOut`) or as soon as `parent` aborts (with the parent's reason), whichever first.
 */
export function deadline(ms: number, parent?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(Math.max(0, Math.ceil(ms)));
  return parent ? AbortSignal.any([parent, timeout]) : timeout;
}

/** True when `signal` aborted because its deadline passed, not because it was cancelled. */
export function isTimedOut(signal: AbortSignal): boolean {
  // by name, not instanceof: the DOMException may come from another realm (a test sandbox)
  const reason = signal.reason as { name?: unknown } | undefined;
  return signal.aborted && reason?.name === 'TimeoutError';
}

/**
 * Settles as `work` does, or rejects with a `TimeoutError` naming `label` and `ms` once
 * `ms` passes (or with `parent`'s reason once it aborts). Given a function, `work` receives
 * the deadline's signal so it can stop what it started; given a promise, its late result is
 * ignored (a late rejection is not reported as unhandled).
 */
export function withTimeout<T>(
  work: Promise<T> | ((signal: AbortSignal) => Promise<T>),
  ms: number,
  label: string,
  parent?: AbortSignal,
): Promise<T> {
  if (ms <= 0) {
    if (typeof work !== 'function') work.catch(() => undefined);
    return Promise.reject(new TimeoutError(label, 0));
  }
  const signal = deadline(ms, parent);
  let promise: Promise<T>;
  try {
    promise = typeof work === 'function' ? work(signal) : work;
  } catch (err) {
    return Promise.reject(err as Error);
  }
  promise.catch(() => undefined);
  const reasonOf = (): unknown =>
    isTimedOut(signal) ? new TimeoutError(label, ms) : signal.reason;
  if (signal.aborted) return Promise.reject(reasonOf() as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reasonOf() as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', onAbort))
      .catch(() => undefined);
  });
}
