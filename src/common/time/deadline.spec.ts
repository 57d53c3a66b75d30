import { deadline, isTimedOut, TimeoutError, withTimeout } from './deadline';

// a promise that never settles: only the deadline can end the wait
const never = <T>() => new Promise<T>(() => undefined);

describe('withTimeout', () => {
  it('settles with the value when the work answers in time', async () => {
    await expect(withTimeout(Promise.resolve(42), 1000, 'answer')).resolves.toBe(42);
  });

  it("passes the work's own error through", async () => {
    await expect(
      withTimeout(Promise.reject(new Error('connection refused')), 1000, 'answer'),
    ).rejects.toThrow('connection refused');
  });

  it('rejects with a TimeoutError that names what timed out and after how long', async () => {
    const err = await withTimeout(never(), 5, 'redis PING').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ label: 'redis PING', ms: 5 });
    expect((err as Error).message).toBe('redis PING: no answer within 5 ms');
  });

  it('hands a function the deadline signal, which aborts as a timeout', async () => {
    let seen: AbortSignal | undefined;
    const err = await withTimeout(
      (signal) => {
        seen = signal;
        return never();
      },
      5,
      'tenant listing',
    ).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(TimeoutError);
    expect(seen?.aborted).toBe(true);
    expect(isTimedOut(seen!)).toBe(true);
  });

  it("rejects with the parent's reason, not a timeout, when the parent aborts first", async () => {
    const parent = new AbortController();
    const pending = withTimeout(never(), 60_000, 'lock release', parent.signal);

    parent.abort(new Error('shutting down'));

    await expect(pending).rejects.toThrow('shutting down');
    await expect(pending).rejects.not.toBeInstanceOf(TimeoutError);
  });

  it('rejects at once, without starting the work, when no time is left', async () => {
    const work = jest.fn(() => Promise.resolve('late'));

    await expect(withTimeout(work, 0, 'term claim')).rejects.toThrow('term claim: no time left');
    expect(work).not.toHaveBeenCalled();
  });
});

describe('deadline', () => {
  it('aborts as a timeout once the time passes', async () => {
    const signal = deadline(5);

    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));

    expect(isTimedOut(signal)).toBe(true);
  });

  it("aborts with the parent's reason when the parent is cancelled first", () => {
    const parent = new AbortController();
    const signal = deadline(60_000, parent.signal);

    parent.abort('lease-lost');

    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('lease-lost');
    expect(isTimedOut(signal)).toBe(false);
  });

  it('is already aborted when the parent is', () => {
    const parent = new AbortController();
    parent.abort('shutdown');

    expect(deadline(60_000, parent.signal).aborted).toBe(true);
  });
});
