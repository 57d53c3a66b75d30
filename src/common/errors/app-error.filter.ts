import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { AppError, httpStatusFor } from './app-error';

interface JsonResponse {
  status(code: number): { json(body: unknown): void };
}

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
    const errorId = randomUUID();
    this.logger.error(
      `unhandled error ${errorId}: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
    );
    res
      .status(500)
      .json({ statusCode: 500, error: 'INTERNAL_ERROR', message: 'Internal error', errorId });
  }
}
