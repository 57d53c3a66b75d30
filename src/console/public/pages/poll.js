import { ApiError } from '../api.js';

/**
 * Calls `load` now and every `everyMs` while it returns true (something is still
 * running), then every `idleMs` (or never, without it), until the page changes. A failed
 * refresh keeps the last view and retries at the next tick; a 401 hands over to the
 * sign-in form.
 */
export function poll(ctx, everyMs, load, idleMs = null) {
  let timer = null;
  let stopped = false;
  ctx.onCleanup(() => {
    stopped = true;
    clearTimeout(timer);
  });
  const tick = async () => {
    let again = true;
    try {
      again = await load();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return ctx.onUnauthorized();
    }
    const delay = again ? everyMs : idleMs;
    if (delay !== null && !stopped) timer = setTimeout(tick, delay);
  };
  return tick();
}
