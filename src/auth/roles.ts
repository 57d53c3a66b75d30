/** The roles of the `roles` claim, each including the ones before it. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** admin ⊃ operator ⊃ viewer: holding any role at or above `required` is enough. */
export function grants(held: readonly Role[], required: Role): boolean {
  return held.some((r) => RANK[r] >= RANK[required]);
}

const READ_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS'];

/** GET, HEAD and OPTIONS (any case): they change nothing, so they are never throttled or audited. */
export function isReadMethod(method: string): boolean {
  return READ_METHODS.includes(method.toUpperCase());
}

/**
 * What a route needs when it does not say: reads need viewer, anything else admin, so a
 * new mutating route is closed until someone decides who may call it.
 */
export function defaultRoleFor(method: string): Role {
  return isReadMethod(method) ? 'viewer' : 'admin';
}
