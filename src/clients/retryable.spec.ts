import { ClientsError, ClientsErrorCode } from './clients.errors';
import { UpstreamError, UpstreamErrorCode } from './http/upstream.error';
import { isRetryableFailure } from './retryable';

const upstream = (code: UpstreamErrorCode, retryable: boolean, status?: number) =>
  new UpstreamError({
    service: 'forecasting',
    operation: 'forecasting.generate',
    code,
    retryable,
    status,
  });

describe('isRetryableFailure', () => {
  it.each([
    ['a 400', upstream(UpstreamErrorCode.HTTP_ERROR, false, 400), false],
    ['a 503', upstream(UpstreamErrorCode.HTTP_ERROR, true, 503), true],
    ['an open circuit', upstream(UpstreamErrorCode.CIRCUIT_OPEN, true), true],
    ['a timeout', upstream(UpstreamErrorCode.TIMEOUT, true), true],
    [
      'invalid params',
      new ClientsError(ClientsErrorCode.INVALID_PARAMS, 'params.days_ahead must be an integer'),
      false,
    ],
    ['a plain object with a 404', { status: 404 }, false],
    ['a plain object with a 429', { status: 429 }, true],
    ['an unexpected error', new TypeError('x is undefined'), true],
  ])('%s -> %s', (_, err, expected) => {
    expect(isRetryableFailure(err)).toBe(expected);
  });
});
