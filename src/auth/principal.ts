import { createHash } from 'node:crypto';
import type { Role } from './roles';

/** The authenticated caller of a request (set by AuthGuard on `req.principal`). */
export interface Principal {
  /** the token's `sub`, as issued */
  subject: string;
  /**
   * `subject` as a UUID for UUID columns such as orchestrator_executions.triggered_by: the
   * subject itself when it is a UUID, else its UUID v5 in SUBJECT_NAMESPACE.
   */
  subjectId: string;
  roles: Role[];
}

/**
 * Namespace of subject UUIDs: `subjectId = uuidV5(SUBJECT_NAMESPACE, sub)`. Fixed forever,
 * so the same subject always maps to the same id (documented in src/auth/README.md).
 */
export const SUBJECT_NAMESPACE = '6f1d4c1e-8b7a-5d3e-9c2f-0a4b7e9d1c35';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** RFC 4122 version 5 (SHA-1, name-based) UUID. */
export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function subjectIdOf(subject: string): string {
  return isUuid(subject) ? subject.toLowerCase() : uuidV5(SUBJECT_NAMESPACE, subject);
}
