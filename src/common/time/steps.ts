/**
 * Long slot computations are written as generators that `yield` (nothing) between units of
 * work and `return` their result. The pure callers drive them to the end at once
 * (`runSteps`); request handlers drive them with `runStepsCooperatively`, which hands the
 * event loop back every `sliceMs` so one request never blocks it for long (a 400-slot preview
 * or a 1,000-slot backfill costs hundreds of ms of CPU; cron-parser's own stepping dominates).
 */
export type Steps<T> = Generator<void, T, void>;

/** Drives `steps` to its result synchronously. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** The slice of synchronous work between two yields to the event loop, in ms. */
export const DEFAULT_SLICE_MS = 10;

/**
 * Drives `steps` to its result, yielding to the event loop (setImmediate: timers, I/O and
 * other requests run) whenever `sliceMs` of work went by since the last yield. The
 * monotonic performance clock only paces the work; no decision depends on it.
 */
export async function runStepsCooperatively<T>(
  steps: Steps<T>,
  sliceMs = DEFAULT_SLICE_MS,
): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}
