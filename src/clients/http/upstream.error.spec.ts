import {
  BODY_EXCERPT_MAX,
  UpstreamError,
  UpstreamErrorCode,
  excerpt,
  isRetryableStatus,
} from './upstream.error';

describe('excerpt', () => {
  it('bounds the body and removes the service token', () => {
    const body = `{"echo":"Bearer s3cret-token"}${'x'.repeat(2000)}`;
    const out = excerpt(body, 's3cret-token');
    expect(out).not.toContain('s3cret-token');
    expect(out).toContain('[redacted]');
    expect(out.length).toBeLessThanOrEqual(BODY_EXCERPT_MAX + 1);
  });
});

describe('isRetryableStatus', () => {
  it.each([
    [408, true],
    [429, true],
    [500, true],
    [503, true],
    [400, false],
    [401, false],
    [404, false],
    [409, false],
    [422, false],
  ])('%i retryable: %s', (status, retryable) => {
    expect(isRetryableStatus(status)).toBe(retryable);
  });
});

describe(UpstreamError.name, () => {
  it('says which operation failed, how, and after how many attempts', () => {
    const err = new UpstreamError({
      service: 'forecasting',
      operation: 'forecasting.generate',
      code: UpstreamErrorCode.HTTP_ERROR,
      status: 503,
      retryable: true,
    }).withAttempts(3);
    expect(err.message).toBe('forecasting.generate: forecasting answered 503 after 3 attempts');
    expect(err.toJSON()).toEqual(
      expect.objectContaining({
        service: 'forecasting',
        status: 503,
        retryable: true,
        attempts: 3,
      }),
    );
  });
});
