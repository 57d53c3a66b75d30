import { UpstreamError, UpstreamErrorCode } from 'src/clients/http/upstream.error';

/** A production service answer with this HTTP status; 5xx may pass, 4xx will not. */
export const upstreamFailure = (status: number) =>
  new UpstreamError({
    service: 'production',
    operation: 'production.generate_schedule',
    code: UpstreamErrorCode.HTTP_ERROR,
    retryable: status >= 500,
    status,
  });
