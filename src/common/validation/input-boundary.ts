/**
 * The checks every request passes before anything reads it: pure functions over the raw
 * URL, the raw body bytes and the parsed JSON, so the HTTP layer (src/auth/http-hardening.ts,
 * StrictInputGuard) and their tests share one definition of "acceptable input".
 */

/** Deeper JSON is refused before it is parsed; the deepest DTO (steps[].params) needs ~6. */
export const MAX_JSON_DEPTH = 32;

/**
 * Keys that reach Object.prototype through a careless merge or class-transformer. JSON.parse
 * keeps them as own properties, and the validation pipe would then drop them silently; a
 * caller who sent one is refused instead.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

export interface FieldProblem {
  field: string;
  message: string;
}

/** A problem found at the boundary: the status it answers, a code and the fields named. */
export class InputBoundaryError extends Error {
  readonly expose = true;

  constructor(
    readonly status: 400 | 413 | 415,
    readonly code: string,
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
    this.name = 'InputBoundaryError';
  }

  /** The JSON answer, in the shape of every other error (`body` is taken by http-errors). */
  toResponse() {
    return {
      statusCode: this.status,
      error: this.code,
      message: this.message,
      ...(this.details.length > 0 ? { details: this.details } : {}),
    };
  }

  static invalid(details: FieldProblem[]): InputBoundaryError {
    return new InputBoundaryError(
      400,
      'REQUEST_INVALID',
      details.map((d) => `${d.field}: ${d.message}`).join('; '),
      details,
    );
  }
}

/**
 * The first control character of `value` as "U+0000 at position 3", or null. Paths and
 * query values allow none; JSON strings allow tab, line feed and carriage return (a
 * description may have several lines) but no other C0 character and no DEL.
 */
export function controlCharIn(value: string, allowLineBreaks = false): string | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x1f && c !== 0x7f) continue;
    if (allowLineBreaks && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
    return `U+${c.toString(16).toUpperCase().padStart(4, '0')} at position ${i}`;
  }
  return null;
}

/** How a field is named in the 400: at most 100 characters, control characters escaped. */
export function fieldName(raw: string): string {
  const head = raw.slice(0, 100);
  let shown = '';
  for (const ch of head) {
    const c = ch.charCodeAt(0);
    shown += c <= 0x1f || c === 0x7f ? `\\u${c.toString(16).padStart(4, '0')}` : ch;
  }
  return raw.length > 100 ? `${shown}…` : shown;
}

/**
 * Checks one request value (a path parameter or a query parameter, already decoded):
 * no control characters, and a query key that names no prototype property.
 */
export function problemsOfValues(
  values: Record<string, unknown>,
  kind: 'path' | 'query',
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [key, value] of Object.entries(values)) {
    const field = fieldName(key);
    const keyParts = key.split(/[[\].]/);
    if (kind === 'query' && keyParts.some((p) => FORBIDDEN_KEYS.has(p))) {
      problems.push({ field, message: `"${field}" is not an accepted query parameter name` });
      continue;
    }
    const keyBad = controlCharIn(key);
    if (keyBad) {
      problems.push({
        field,
        message: `the parameter name must not contain control characters (${keyBad})`,
      });
      continue;
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      const bad = typeof v === 'string' ? controlCharIn(v) : null;
      if (bad) {
        problems.push({ field, message: `must not contain control characters (${bad})` });
        break;
      }
    }
  }
  return problems;
}

/**
 * The raw URL must decode: a malformed percent escape ("%E0%A4%A", "%zz") is refused here
 * rather than left to the router, which would answer it with an HTML page.
 */
export function problemsOfUrl(url: string): FieldProblem[] {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  const problems: FieldProblem[] = [];
  if (!decodes(path)) {
    problems.push({ field: 'path', message: 'contains a malformed percent-encoding' });
  }
  if (query !== '') {
    for (const pair of query.split('&')) {
      const eq = pair.indexOf('=');
      const rawKey = eq === -1 ? pair : pair.slice(0, eq);
      if (!decodes(rawKey) || (eq !== -1 && !decodes(pair.slice(eq + 1)))) {
        problems.push({
          field: decodes(rawKey) ? fieldName(decodeURIComponent(rawKey)) : 'query',
          message: 'contains a malformed percent-encoding',
        });
        break;
      }
    }
  }
  return problems;
}

function decodes(part: string): boolean {
  if (!part.includes('%')) return true;
  try {
    decodeURIComponent(part.replace(/\+/g, ' '));
    return true;
  } catch {
    return false;
  }
}

/**
 * True when the JSON text nests arrays/objects deeper than `max`, found by one pass over
 * the bytes before JSON.parse builds anything: 100 KB of "[" parses in ~70 ms and then
 * overflows class-transformer's recursion, and neither should happen on a request. UTF-8
 * never puts the bytes of " \ [ ] { } inside a multi-byte character, so a byte scan is exact.
 */
export function jsonNestsDeeperThan(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
      continue;
    }
    if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > max) return true;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return false;
}

/**
 * Walks a parsed JSON body (already known to be at most MAX_JSON_DEPTH deep): prototype
 * keys and control characters in keys or strings are refused, each named by its path in
 * the form the validation errors use (`steps[2].params.x`). Stops after 20 problems.
 */
export function problemsOfJson(body: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const stack: { value: unknown; path: string }[] = [{ value: body, path: '' }];
  while (stack.length > 0 && problems.length < 20) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      const bad = controlCharIn(value, true);
      if (bad)
        problems.push({
          field: path || 'body',
          message: `must not contain control characters (${bad})`,
        });
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        stack.push({ value: value[i], path: `${path}[${i}]` });
    } else if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value).reverse()) {
        const field = path ? `${path}.${fieldName(key)}` : fieldName(key);
        if (FORBIDDEN_KEYS.has(key)) {
          problems.push({ field, message: `"${key}" is not an accepted key` });
          continue;
        }
        const bad = controlCharIn(key);
        if (bad) {
          problems.push({ field, message: `the key must not contain control characters (${bad})` });
          continue;
        }
        stack.push({ value: (value as Record<string, unknown>)[key], path: field });
      }
    }
  }
  return problems;
}
