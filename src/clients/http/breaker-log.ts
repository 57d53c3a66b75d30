import { Logger } from '@nestjs/common';
import type { CircuitBreakerPolicy } from 'cockatiel';

/** Where the transitions go: Nest's logger in the service, a recorder in tests. */
export interface BreakerLogSink {
  warn(message: object): void;
  log(message: object): void;
}

/**
 * Logs every transition of a service's circuit breaker with the service name. The state
 * gauge says where a breaker is; only a log line says when it moved and why, which is
 * what an operator reading an incident needs. Opening is a warning (calls to the service
 * now fail fast); half-open and closed are lifecycle.
 */
export function logBreakerTransitions(
  breaker: CircuitBreakerPolicy,
  service: string,
  halfOpenAfterMs: number,
  sink: BreakerLogSink = new Logger('CircuitBreaker'),
): void {
  breaker.onBreak((reason) => {
    const cause =
      'isolated' in reason
        ? 'isolated by hand'
        : 'error' in reason
          ? reason.error.message
          : 'a failing answer';
    sink.warn({
      msg: `circuit breaker for ${service} opened: calls fail fast, a probe in ${halfOpenAfterMs} ms`,
      service,
      state: 'open',
      cause,
    });
  });
  breaker.onHalfOpen(() =>
    sink.log({
      msg: `circuit breaker for ${service} half-open: one probe call allowed`,
      service,
      state: 'half-open',
    }),
  );
  breaker.onReset(() =>
    sink.log({
      msg: `circuit breaker for ${service} closed: calls flow again`,
      service,
      state: 'closed',
    }),
  );
}
