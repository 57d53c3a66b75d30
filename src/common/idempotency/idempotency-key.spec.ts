import { IdempotencyError } from './idempotency.errors';
import { parseIdempotencyKey, requestHash } from './idempotency-key';

describe('parseIdempotencyKey', () => {
  it('accepts no header as "no key"', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });

  it.each([
    ['a UUID', '0b6f6d3e-2a51-4f4e-9d0b-5d2f4a1c9e77'],
    ['a Stripe-style key', 'key_2026-12-06:retry #3'],
    ['one character', 'x'],
    ['255 characters', 'k'.repeat(255)],
  ])('accepts %s', (_name, key) => {
    expect(parseIdempotencyKey(key)).toBe(key);
  });

  it.each([
    ['an empty value', '', 'must not be empty'],
    ['256 characters', 'k'.repeat(256), 'at most 255'],
    ['a non-ASCII character', 'café', 'printable ASCII'],
    ['a control character', 'a\tb', 'printable ASCII'],
    ['a trailing space', 'abc ', 'printable ASCII'],
  ])('refuses %s with a 400 naming the header', (_name, key, message) => {
    const err = catchError(() => parseIdempotencyKey(key));
    expect(err).toBeInstanceOf(IdempotencyError);
    expect(err.code).toBe('IDEMPOTENCY_KEY_INVALID');
    expect(err.message).toContain(message);
    expect(err.details).toEqual([{ field: 'Idempotency-Key', message: expect.any(String) }]);
  });

  it('refuses the header sent twice', () => {
    expect(catchError(() => parseIdempotencyKey(['a', 'b'])).message).toContain('once');
  });
});

describe('requestHash', () => {
  it('is the same whatever the order of object keys', () => {
    expect(requestHash({ from: 'a', to: 'b', tenant_ids: ['x'] })).toBe(
      requestHash({ tenant_ids: ['x'], to: 'b', from: 'a' }),
    );
  });

  it('treats an absent body and undefined fields as an empty object', () => {
    expect(requestHash(undefined)).toBe(requestHash({}));
    expect(requestHash({ dry_run: undefined })).toBe(requestHash({}));
  });

  it('differs when a value or the order of an array differs', () => {
    expect(requestHash({ allow_concurrent: true })).not.toBe(requestHash({}));
    expect(requestHash({ tenant_ids: ['a', 'b'] })).not.toBe(
      requestHash({ tenant_ids: ['b', 'a'] }),
    );
  });
});

function catchError(fn: () => unknown): IdempotencyError {
  try {
    fn();
  } catch (err) {
    return err as IdempotencyError;
  }
  throw new Error('expected an error');
}
