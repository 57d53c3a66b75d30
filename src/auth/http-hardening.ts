import { INestApplication } from '@nestjs/common';
import { NestExpressApplication, NestExpressBodyParserOptions } from '@nestjs/platform-express';
import helmet from 'helmet';
import {
  fieldName,
  InputBoundaryError,
  jsonNestsDeeperThan,
  MAX_JSON_DEPTH,
  problemsOfJson,
  problemsOfUrl,
} from 'src/common/validation/input-boundary';
import { AppConfig } from 'src/config/app-config.service';

/**
 * Transport-level hardening and the input boundary, applied by configureApp before the app
 * initialises (so the body parser here replaces Nest's default rather than running after it).
 * In order, for every request, before routing, guards or pipes:
 * - security headers (helmet); its default CSP suits Swagger UI, whose scripts are files;
 * - a URL whose percent-encoding does not decode: 400 naming the part;
 * - a body that is not `application/json` (UTF-8): 415, before a byte of it is read; a
 *   request without a body needs no content type (enable, disable, an execute with the
 *   defaults);
 * - the JSON body: over HTTP_BODY_LIMIT_KB (after decompression) 413; bad gzip/deflate,
 *   invalid UTF-8, malformed JSON or nesting deeper than MAX_JSON_DEPTH 400, all found
 *   before JSON.parse builds anything; then prototype keys and control characters 400
 *   naming the field, before class-transformer sees the object.
 * Path and query parameters are checked once routed, by StrictInputGuard, which knows
 * their names.
 */
export function hardenHttp(app: INestApplication): void {
  const config = app.get(AppConfig);
  const limit = `${config.get('HTTP_BODY_LIMIT_KB')}kb`;
  const express = app as NestExpressApplication;
  express.use(helmet());
  express.use(refuseUndecodableUrl);
  express.use(requireJsonBody);
  // body-parser calls verify with the raw (inflated) bytes before it parses them
  const jsonOptions = { limit, verify: verifyJsonBytes } as NestExpressBodyParserOptions;
  express.useBodyParser('json', jsonOptions);
  express.use(checkJsonBody);
  express.use(boundaryErrors);
}

interface HttpRequest {
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}
interface JsonResponse {
  status(code: number): { json(body: unknown): void };
}
type Next = (err?: unknown) => void;

function refuseUndecodableUrl(req: HttpRequest, _res: unknown, next: Next): void {
  const problems = problemsOfUrl(req.url);
  next(problems.length > 0 ? InputBoundaryError.invalid(problems) : undefined);
}

/**
 * Only JSON is read. A body under another type (text/plain, a form, XML, multipart, none
 * declared) used to be ignored and the request run with the defaults: for execute, a REAL
 * run when the caller asked for a dry one.
 */
function requireJsonBody(req: HttpRequest, _res: unknown, next: Next): void {
  if (!hasBody(req)) return next();
  const header = req.headers['content-type'];
  const [type, ...params] = (typeof header === 'string' ? header : '').split(';');
  const mediaType = type.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    return next(
      new InputBoundaryError(
        415,
        'REQUEST_UNSUPPORTED_MEDIA_TYPE',
        `send the body as Content-Type: application/json (got ${mediaType ? fieldName(mediaType) : 'no Content-Type'})`,
      ),
    );
  }
  const charset = params
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    return next(
      new InputBoundaryError(
        415,
        'REQUEST_UNSUPPORTED_MEDIA_TYPE',
        `JSON is read as UTF-8 only (got charset=${fieldName(charset)})`,
      ),
    );
  }
  next();
}

/** A body is there when it is chunked or its declared length is not zero. */
function hasBody(req: HttpRequest): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return typeof length === 'string' && length.trim() !== '' && Number(length) !== 0;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function verifyJsonBytes(_req: unknown, _res: unknown, bytes: Buffer): void {
  try {
    utf8.decode(bytes);
  } catch {
    throw InputBoundaryError.invalid([{ field: 'body', message: 'is not valid UTF-8' }]);
  }
  if (jsonNestsDeeperThan(bytes, MAX_JSON_DEPTH)) {
    throw InputBoundaryError.invalid([
      { field: 'body', message: `nests arrays/objects deeper than ${MAX_JSON_DEPTH} levels` },
    ]);
  }
}

function checkJsonBody(req: HttpRequest, _res: unknown, next: Next): void {
  if (req.body === undefined || req.body === null || typeof req.body !== 'object') return next();
  const problems = problemsOfJson(req.body);
  next(problems.length > 0 ? InputBoundaryError.invalid(problems) : undefined);
}

interface ParserError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  message?: unknown;
}

/**
 * The refusals above and body-parser's (too large, malformed, bad gzip, unsupported
 * encoding) are not Nest exceptions, and Nest's filter would call them 500s: answer them
 * here, in the same JSON shape as every other error. Only errors of the middleware above
 * reach this handler, so any 4xx among them is the caller's to fix.
 */
function boundaryErrors(err: ParserError, _req: unknown, res: JsonResponse, next: Next): void {
  if (err instanceof InputBoundaryError) return res.status(err.status).json(err.toResponse());
  const raw = typeof err?.status === 'number' ? err.status : err?.statusCode;
  const status = typeof raw === 'number' ? raw : 0;
  if (status < 400 || status >= 500) return next(err);
  const message =
    status === 413
      ? 'the request body is larger than HTTP_BODY_LIMIT_KB allows'
      : status === 415
        ? `the request body cannot be decoded: ${String(err.message).slice(0, 200)}`
        : `the request body cannot be read: ${String(err.message).slice(0, 200)}`;
  res.status(status).json({
    statusCode: status,
    error:
      status === 413
        ? 'REQUEST_TOO_LARGE'
        : status === 415
          ? 'REQUEST_UNSUPPORTED_MEDIA_TYPE'
          : 'REQUEST_INVALID',
    message,
    ...(status === 400 ? { details: [{ field: 'body', message }] } : {}),
  });
}

/** Swagger is an attack map in production: off there unless SWAGGER_ENABLED=true. */
export function isSwaggerEnabled(app: INestApplication): boolean {
  const config = app.get(AppConfig);
  return config.get('SWAGGER_ENABLED') ?? config.get('NODE_ENV') !== 'production';
}
