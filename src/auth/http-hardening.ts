import { INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { AppConfig } from 'src/config/app-config.service';

/**
 * Transport-level hardening, applied by configureApp before the app initialises (so the
 * body parsers here replace Nest's defaults rather than running after them):
 * - security headers (helmet); its default CSP suits Swagger UI, whose scripts are files;
 * - a body size limit: a bigger body is refused with 413 before any handler sees it.
 */
export function hardenHttp(app: INestApplication): void {
  const config = app.get(AppConfig);
  const limit = `${config.get('HTTP_BODY_LIMIT_KB')}kb`;
  const express = app as NestExpressApplication;
  express.use(helmet());
  express.useBodyParser('json', { limit });
  express.useBodyParser('urlencoded', { limit, extended: true });
  express.use(bodyParserErrors);
}

interface BodyParserError {
  status?: unknown;
  type?: unknown;
  message?: unknown;
}
interface JsonResponse {
  status(code: number): { json(body: unknown): void };
}

/**
 * body-parser's refusals (too large, malformed, bad charset) carry a 4xx `status` but are
 * not Nest exceptions, so the shared filter would call them 500s: answer them here, in the
 * same JSON shape, right where they happen.
 */
function bodyParserErrors(
  err: BodyParserError,
  _req: unknown,
  res: JsonResponse,
  next: (err?: unknown) => void,
): void {
  const status = typeof err?.status === 'number' ? err.status : 0;
  if (typeof err?.type !== 'string' || status < 400 || status >= 500) return next(err);
  res.status(status).json({
    statusCode: status,
    error: status === 413 ? 'REQUEST_TOO_LARGE' : 'REQUEST_INVALID',
    message:
      status === 413
        ? 'the request body is larger than HTTP_BODY_LIMIT_KB allows'
        : `the request body cannot be read: ${String(err.message).slice(0, 200)}`,
  });
}

/** Swagger is an attack map in production: off there unless SWAGGER_ENABLED=true. */
export function isSwaggerEnabled(app: INestApplication): boolean {
  const config = app.get(AppConfig);
  return config.get('SWAGGER_ENABLED') ?? config.get('NODE_ENV') !== 'production';
}
