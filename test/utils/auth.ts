import jwt from 'jsonwebtoken';

/**
 * The secret every e2e suite starts the service with (`AUTH_JWT_SECRET`): a suite that
 * calls the API spreads `authEnv()` into the service env and sends `bearer(role)`.
 */
export const TEST_JWT_SECRET = 'test-secret-for-e2e-suites-only-0123456789abcdef';

export type TestRole = 'viewer' | 'operator' | 'admin';

export function authEnv(secret = TEST_JWT_SECRET): Record<string, string> {
  return { AUTH_JWT_SECRET: secret };
}

/** An HS256 token for `role` (subject `test-<role>`), valid for an hour unless overridden. */
export function tokenFor(
  role: TestRole | TestRole[] | null,
  secret = TEST_JWT_SECRET,
  claims: Record<string, unknown> = {},
): string {
  const now = Math.floor(Date.now() / 1000);
  const roles = role === null ? [] : Array.isArray(role) ? role : [role];
  return jwt.sign(
    {
      sub: `test-${roles[0] ?? 'nobody'}`,
      roles,
      iat: now,
      exp: now + 3600,
      ...claims,
    },
    secret,
    { algorithm: 'HS256' },
  );
}

/** `{ Authorization: 'Bearer …' }` for fetch/supertest. */
export function bearer(
  role: TestRole | TestRole[] | null,
  secret = TEST_JWT_SECRET,
): Record<string, string> {
  return { Authorization: `Bearer ${tokenFor(role, secret)}` };
}
