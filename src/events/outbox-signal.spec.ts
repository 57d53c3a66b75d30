import { OutboxSignal } from './outbox-signal';

describe(OutboxSignal.name, () => {
  it('wakes a waiter as soon as it is rung', async () => {
    const signal = new OutboxSignal();
    const waiting = signal.wait(60_000);
    signal.notify();
    await expect(waiting).resolves.toBe(true);
  });

  it('remembers a ring that came while nobody waited, once', async () => {
    const signal = new OutboxSignal();
    signal.notify();
    signal.notify();
    await expect(signal.wait(60_000)).resolves.toBe(true);
    await expect(signal.wait(5)).resolves.toBe(false);
  });

  it('times out when nobody rings', async () => {
    const signal = new OutboxSignal();
    await expect(signal.wait(5)).resolves.toBe(false);
  });

  it('wakes every waiter', async () => {
    const signal = new OutboxSignal();
    const a = signal.wait(60_000);
    const b = signal.wait(60_000);
    signal.notify();
    await expect(Promise.all([a, b])).resolves.toEqual([true, true]);
  });
});
