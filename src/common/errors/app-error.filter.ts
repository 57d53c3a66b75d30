import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { AppError, httpStatusFor } from './app-error';
import { describeDatabaseTimeout } from './database-timeout';

interface JsonResponse {
  status(code: number): { json(body: unknown): void };
  setHeader(name: string, value: string): void;
}

/** Seconds a client is asked to wait after a database timeout: long enough for a lock to pass. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * One JSON error shape for every route: `{ statusCode, error, message, details? }`.
 * 500s carry an errorId that is also logged; no stack trace ever reaches a response.
 */
@Catch()
export class AppErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<JsonResponse>();
    if (exception instanceof AppError) {
      const status = httpStatusFor(exception.code);
      if (status !== 500) {
        res.status(status).json({
          statusCode: status,
          error: exception.code,
          message: exception.message,
          ...(exception.details ? { details: exception.details } : {}),
        });
        return;
      }
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      if (status < 500) {
        res
          .status(status)
          .json(typeof body === 'string' ? { statusCode: status, message: body } : body);
        return;
      }
      if (status === 503 && typeof body === 'object') {
        res.status(status).json(body); // readiness answers carry their reasons
        return;
      }
    }
    const timeout = describeDatabaseTimeout(exception);
    if (timeout) {
      // degraded, not broken: a lock or a full pool passes; the caller should retry
      this.logger.warn({ msg: 'database busy', reason: timeout });
      res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
      res.status(503).json({
        statusCode: 503,
        error: 'DATABASE_UNAVAILABLE',
        message: `${timeout}; retry in a few seconds`,
      });
      return;
    }
    const errorId = randomUUID();
    this.logger.error({
      msg: 'unhandled error',
      errorId,
      error:
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    });
    res
      .status(500)
      .json({ statusCode: 500, error: 'INTERNAL_ERROR', message: 'Internal error', errorId });
  }
}
