// The console is a client of the documented API and nothing more: every figure comes from
// it, every decision about what a caller may do is its answer (403), and the roles read
// from the token below only hide buttons that would be refused anyway.

const TOKEN_KEY = 'orchestrator.console.token';
export const API = '/api/v1/orchestrator';

export class ApiError extends Error {
  constructor(status, body) {
    super(
      (body && typeof body.message === 'string' && body.message) || `the API answered ${status}`,
    );
    this.status = status;
    this.body = body;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value.trim());
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The token's claims, decoded without verification (the API verifies; this only reads). */
export function claims() {
  const t = token();
  if (!t) return null;
  try {
    const part = t.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(json);
  } catch {
    return null;
  }
}

const RANK = { viewer: 1, operator: 2, admin: 3 };

/** Whether the token's roles claim reaches `role` (admin > operator > viewer). */
export function hasRole(role) {
  const c = claims();
  const roles = Array.isArray(c?.roles) ? c.roles : typeof c?.roles === 'string' ? [c.roles] : [];
  const best = Math.max(0, ...roles.map((r) => RANK[r] ?? 0));
  return best >= RANK[role];
}

/** A call to the API with the bearer token; rejects with ApiError on a non-2xx answer. */
export async function api(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const init = {
    method,
    signal,
    headers: { Accept: 'application/json', Authorization: `Bearer ${token()}`, ...headers },
  };
  if (method !== 'GET') {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(`${API}${path}`, init);
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { message: text.slice(0, 200) };
  }
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

/** The Prometheus exposition (GET /metrics at the root), as name{labels} -> value. */
export async function prometheus() {
  const res = await fetch('/metrics', { headers: { Authorization: `Bearer ${token()}` } });
  if (!res.ok) throw new ApiError(res.status, null);
  const samples = [];
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return samples;
}

/** A fresh key per confirmed action: a double submit or a resent request runs it once. */
export function idempotencyKey() {
  // randomUUID exists only in secure contexts (https, localhost); a console opened over
  // plain http on another host still has getRandomValues
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
