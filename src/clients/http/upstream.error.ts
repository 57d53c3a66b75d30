/** What went wrong with a downstream call; the metrics `outcome` label is derived from it. */
export enum UpstreamErrorCode {
  /** the service answered with a non-2xx status (`status` is set) */
  HTTP_ERROR = 'UPSTREAM_HTTP_ERROR',
  /** an attempt got no answer within its timeout */
  TIMEOUT = 'UPSTREAM_TIMEOUT',
  /** the overall deadline of the call passed (waiting for a slot, between or during attempts) */
  DEADLINE_EXCEEDED = 'UPSTREAM_DEADLINE_EXCEEDED',
  /** refused, reset or dropped connection, DNS failure */
  CONNECTION_ERROR = 'UPSTREAM_CONNECTION_ERROR',
  /** the service's circuit breaker is open: the call was not sent */
  CIRCUIT_OPEN = 'UPSTREAM_CIRCUIT_OPEN',
  /** the caller's AbortSignal fired (deadline of the workflow, shutdown, cancellation) */
  ABORTED = 'UPSTREAM_ABORTED',
  /** a 2xx whose body is not JSON */
  INVALID_RESPONSE = 'UPSTREAM_INVALID_RESPONSE',
}

/** Longest body excerpt an error keeps: enough to diagnose, never a whole payload. */
export const BODY_EXCERPT_MAX = 512;

export interface UpstreamErrorInit {
  service: string;
  operation: string;
  code: UpstreamErrorCode;
  retryable: boolean;
  status?: number;
  bodyExcerpt?: string;
  /** attempts made before giving up */
  attempts?: number;
  requestId?: string;
  /** the service's Retry-After, when it sent one */
  retryAfterMs?: number;
  detail?: string;
}

/**
 * The only error the clients throw for a failed call (docs/conventions.md "Errors"). The step
 * runner retries on `retryable` and never on a 4xx. Built from the response only: the
 * request headers, and with them the service token, never get in.
 */
export class UpstreamError extends Error {
  readonly service: string;
  readonly operation: string;
  readonly code: UpstreamErrorCode;
  readonly retryable: boolean;
  readonly status?: number;
  readonly bodyExcerpt?: string;
  readonly attempts: number;
  readonly requestId?: string;
  readonly retryAfterMs?: number;

  constructor(init: UpstreamErrorInit) {
    super(describe(init));
    this.name = 'UpstreamError';
    this.service = init.service;
    this.operation = init.operation;
    this.code = init.code;
    this.retryable = init.retryable;
    this.status = init.status;
    this.bodyExcerpt = init.bodyExcerpt;
    this.attempts = init.attempts ?? 1;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** The same failure after `attempts` tries (the message says how many). */
  withAttempts(attempts: number): UpstreamError {
    return new UpstreamError({ ...this.toInit(), attempts });
  }

  toInit(): UpstreamErrorInit {
    return {
      service: this.service,
      operation: this.operation,
      code: this.code,
      retryable: this.retryable,
      status: this.status,
      bodyExcerpt: this.bodyExcerpt,
      attempts: this.attempts,
      requestId: this.requestId,
      retryAfterMs: this.retryAfterMs,
    };
  }

  /** A plain object for step results and logs. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, message: this.message, ...this.toInit() };
  }
}

function describe(init: UpstreamErrorInit): string {
  const what = (() => {
    switch (init.code) {
      case UpstreamErrorCode.HTTP_ERROR:
        return `${init.service} answered ${init.status}`;
      case UpstreamErrorCode.TIMEOUT:
        return `${init.service} did not answer in time`;
      case UpstreamErrorCode.DEADLINE_EXCEEDED:
        return `deadline exceeded calling ${init.service}`;
      case UpstreamErrorCode.CONNECTION_ERROR:
        return `cannot reach ${init.service}`;
      case UpstreamErrorCode.CIRCUIT_OPEN:
        return `${init.service} circuit breaker is open (call not sent)`;
      case UpstreamErrorCode.ABORTED:
        return `call to ${init.service} cancelled`;
      case UpstreamErrorCode.INVALID_RESPONSE:
        return `${init.service} answered with a body that is not JSON`;
    }
  })();
  const detail = init.detail ? ` (${init.detail})` : '';
  const attempts = (init.attempts ?? 1) > 1 ? ` after ${init.attempts} attempts` : '';
  return `${init.operation}: ${what}${detail}${attempts}`;
}

/** A bounded, token-free excerpt of a response body for errors and logs. */
export function excerpt(body: string, secret?: string): string {
  let text = body;
  if (secret && secret.length > 0 && text.includes(secret))
    text = text.split(secret).join('[redacted]');
  return text.length > BODY_EXCERPT_MAX ? `${text.slice(0, BODY_EXCERPT_MAX)}…` : text;
}

/** 408, 429 and 5xx are worth another try; other statuses will not change by retrying. */
export const isRetryableStatus = (status: number): boolean =>
  status === 408 || status === 429 || status >= 500;
