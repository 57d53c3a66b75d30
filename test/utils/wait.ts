export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy, failing after `timeoutMs`. */
export async function waitUntil<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/**
 * waitUntil at a pace for a spawned service: each poll is an HTTP or SQL round trip against
 * another process, so 250 ms keeps the polling from competing with the work it waits for.
 */
export const eventually = <T>(fn: () => Promise<T | undefined | false>, timeoutMs: number) =>
  waitUntil(fn, timeoutMs, 250);
