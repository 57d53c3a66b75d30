import { ConcurrencyLimiter } from './concurrency-limiter';

const giveUp = (why: string) => new Error(why);

describe(ConcurrencyLimiter.name, () => {
  it('lets `limit` holders in and queues the rest in arrival order', async () => {
    const limiter = new ConcurrencyLimiter(2);
    const order: number[] = [];
    await limiter.acquire(undefined, Infinity, giveUp);
    await limiter.acquire(undefined, Infinity, giveUp);
    const third = limiter.acquire(undefined, Infinity, giveUp).then(() => order.push(3));
    const fourth = limiter.acquire(undefined, Infinity, giveUp).then(() => order.push(4));
    expect(limiter.waiting).toBe(2);
    limiter.release();
    await third;
    limiter.release();
    await fourth;
    expect(order).toEqual([3, 4]);
    expect(limiter.inUse).toBe(2);
    expect(limiter.maxActive).toBe(2);
  });

  it('drops a waiter whose signal aborts, and hands the slot to the next one', async () => {
    const limiter = new ConcurrencyLimiter(1);
    await limiter.acquire(undefined, Infinity, giveUp);
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal, Infinity, giveUp);
    const next = limiter.acquire(undefined, Infinity, giveUp);
    controller.abort();
    await expect(aborted).rejects.toThrow('aborted');
    expect(limiter.waiting).toBe(1);
    limiter.release();
    await expect(next).resolves.toBeUndefined();
    expect(limiter.inUse).toBe(1);
  });

  it('gives up waiting after the timeout', async () => {
    const limiter = new ConcurrencyLimiter(1);
    await limiter.acquire(undefined, Infinity, giveUp);
    await expect(limiter.acquire(undefined, 20, giveUp)).rejects.toThrow('timeout');
    expect(limiter.waiting).toBe(0);
    limiter.release();
    expect(limiter.inUse).toBe(0);
  });

  it('never exceeds its limit with many concurrent holders', async () => {
    const limiter = new ConcurrencyLimiter(5);
    let active = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 3000 }, async (_, i) => {
        await limiter.acquire(undefined, Infinity, giveUp);
        active++;
        max = Math.max(max, active);
        await new Promise((r) => (i % 3 === 0 ? setImmediate(r) : r(null)));
        active--;
        limiter.release();
      }),
    );
    expect(max).toBe(5);
    expect(limiter.inUse).toBe(0);
    expect(limiter.waiting).toBe(0);
  });
});
