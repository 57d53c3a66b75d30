import { createHash } from 'node:crypto';
import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { IdempotencyError, IdempotencyErrorCode } from './idempotency.errors';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const MAX_KEY_LENGTH = 255;

/** Printable ASCII, space excluded at the ends: what a UUID, a ULID or a Stripe-style key is. */
const PRINTABLE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * The `Idempotency-Key` header of a request: undefined when absent, else 1-255 printable
 * ASCII characters. Anything else is the caller's mistake, refused with a 400 naming the
 * header rather than treated as "no key" (which would silently drop the protection).
 */
export function parseIdempotencyKey(raw: string | string[] | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const refuse = (message: string) =>
    new IdempotencyError(IdempotencyErrorCode.KeyInvalid, `${IDEMPOTENCY_HEADER} ${message}`, [
      { field: IDEMPOTENCY_HEADER, message },
    ]);
  if (Array.isArray(raw)) throw refuse('must be sent once');
  if (raw.length === 0) throw refuse('must not be empty');
  if (raw.length > MAX_KEY_LENGTH) throw refuse(`must be at most ${MAX_KEY_LENGTH} characters`);
  if (!PRINTABLE.test(raw)) {
    throw refuse('must be printable ASCII without leading or trailing spaces');
  }
  return raw;
}

/** Handler parameter: the validated `Idempotency-Key` header, or undefined. */
export const IdempotencyKey = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): string | undefined =>
    parseIdempotencyKey(
      ctx.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>()
        .headers['idempotency-key'],
    ),
);

/**
 * SHA-256 of the body with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are
 * the same request; an absent body is `{}` (retry takes none).
 */
export function requestHash(body: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(body ?? {}))
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The header as Swagger shows it on each command route. */
export const IDEMPOTENCY_HEADER_DOC = {
  name: IDEMPOTENCY_HEADER,
  required: false,
  description:
    '1-255 printable ASCII characters (a UUID is a good choice). The same key with the same body within 24 h gets the first answer back (same status and body, header Idempotent-Replayed: true) without doing the work again; with another body, 422. While the first request is still being processed a repeat waits up to 10 s for its answer, then 409. Keys are per caller, route and path target. docs/idempotency.md',
};
