/**
 * What never reaches a log line: credentials a client may put in the query string (some
 * send `?access_token=` where a header cannot be set, EventSource for one) and in headers.
 * Applied by the pino-http request serializer, which every line logged during a request
 * goes through (the request binding of nestjs-pino), so no call site has to remember it.
 */
export const SECRET_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'access_token',
  'token',
  'id_token',
  'refresh_token',
  'api_key',
  'apikey',
  'jwt',
]);

export const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
]);

export const REDACTED = '[Redacted]';

/** The URL with the value of each secret query parameter replaced, the rest untouched. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const pairs = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      return isSecretKey(key) ? `${key}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${pairs.join('&')}`;
}

function isSecretKey(rawKey: string): boolean {
  let key = rawKey;
  try {
    key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
  } catch {
    // a malformed escape is still compared as sent
  }
  // `token[]=` and `Access_Token=` are the same parameter to most parsers
  return SECRET_QUERY_PARAMS.has(key.replace(/\[.*$/, '').trim().toLowerCase());
}

/** A copy of a parsed query object with the secret parameters' values replaced. */
export function redactQuery(query: unknown): unknown {
  if (query === null || typeof query !== 'object') return query;
  return Object.fromEntries(
    Object.entries(query).map(([k, v]) => [k, isSecretKey(k) ? REDACTED : v]),
  );
}

/** A copy of a header object with the credential headers replaced. */
export function redactHeaders(headers: unknown): unknown {
  if (headers === null || typeof headers !== 'object') return headers;
  return Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [
      k,
      SECRET_HEADERS.has(k.toLowerCase()) ? REDACTED : v,
    ]),
  );
}

interface SerializedRequest {
  url?: unknown;
  query?: unknown;
  headers?: unknown;
  [key: string]: unknown;
}

/** The pino-http `serializers.req`: receives pino's serialized request, returns a redacted copy. */
export function redactRequest(req: SerializedRequest): SerializedRequest {
  return {
    ...req,
    ...(typeof req.url === 'string' ? { url: redactUrl(req.url) } : {}),
    ...(req.query !== undefined ? { query: redactQuery(req.query) } : {}),
    ...(req.headers !== undefined ? { headers: redactHeaders(req.headers) } : {}),
  };
}
