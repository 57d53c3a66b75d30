import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import { BreakerLogSink, logBreakerTransitions } from './breaker-log';

class RecordingSink implements BreakerLogSink {
  readonly lines: { level: 'warn' | 'log'; line: Record<string, unknown> }[] = [];
  warn(line: object): void {
    this.lines.push({ level: 'warn', line: line as Record<string, unknown> });
  }
  log(line: object): void {
    this.lines.push({ level: 'log', line: line as Record<string, unknown> });
  }
}

const HALF_OPEN_AFTER_MS = 5;

describe(logBreakerTransitions.name, () => {
  const fail = () => Promise.reject(new Error('503 from production'));
  const succeed = () => Promise.resolve('ok');

  function watchedBreaker() {
    const breaker = circuitBreaker(handleAll, {
      halfOpenAfter: HALF_OPEN_AFTER_MS,
      breaker: new ConsecutiveBreaker(2),
    });
    const sink = new RecordingSink();
    logBreakerTransitions(breaker, 'production', HALF_OPEN_AFTER_MS, sink);
    return { breaker, sink };
  }

  async function open(breaker: ReturnType<typeof watchedBreaker>['breaker']) {
    await breaker.execute(fail).catch(() => undefined);
    await breaker.execute(fail).catch(() => undefined);
  }

  const afterHalfOpenDelay = () => new Promise((r) => setTimeout(r, HALF_OPEN_AFTER_MS * 4));

  it('warns with the service, the state and the cause when the breaker opens', async () => {
    const { breaker, sink } = watchedBreaker();
    await open(breaker);
    expect(sink.lines).toEqual([
      {
        level: 'warn',
        line: expect.objectContaining({
          msg: `circuit breaker for production opened: calls fail fast, a probe in ${HALF_OPEN_AFTER_MS} ms`,
          service: 'production',
          state: 'open',
          cause: '503 from production',
        }),
      },
    ]);
  });

  it('logs half-open and then closed when the probe succeeds', async () => {
    const { breaker, sink } = watchedBreaker();
    await open(breaker);
    await afterHalfOpenDelay();
    await breaker.execute(succeed);
    expect(sink.lines.map(({ level, line }) => [level, line.service, line.state])).toEqual([
      ['warn', 'production', 'open'],
      ['log', 'production', 'half-open'],
      ['log', 'production', 'closed'],
    ]);
  });

  it('logs half-open and open again when the probe fails', async () => {
    const { breaker, sink } = watchedBreaker();
    await open(breaker);
    await afterHalfOpenDelay();
    await breaker.execute(fail).catch(() => undefined);
    expect(sink.lines.map(({ line }) => line.state)).toEqual(['open', 'half-open', 'open']);
  });
});
