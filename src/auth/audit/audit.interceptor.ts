import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { catchError, from, mergeMap, Observable, throwError } from 'rxjs';
import { AppError, httpStatusFor } from 'src/common/errors/app-error';
import type { Principal } from '../principal';
import { isReadMethod } from '../roles';
import { auditChangeOf } from './audit-change';
import { AuditService } from './audit.service';

interface HttpRequest {
  method: string;
  originalUrl?: string;
  url: string;
  id?: unknown;
  route?: { path?: string };
  params?: Record<string, string>;
  body?: unknown;
  principal?: Principal;
}

/**
 * Writes an audit row for every mutating request that reached its handler (APP_INTERCEPTOR,
 * so after AuthGuard: the caller is known). The row is written before the response is
 * sent, so a client that got its answer can already find the row.
 *
 * What is stored: successes, and server-side failures (5xx: the change may have half
 * happened). Requests refused for the caller's mistake (400, 404, 409) changed nothing and
 * are only logged; refused tokens and roles (401/403) never reach here and are logged by
 * AuthGuard.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(private readonly audit: AuditService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<HttpRequest>();
    if (isReadMethod(req.method)) return next.handle();
    const res = context.switchToHttp().getResponse<{ statusCode: number }>();
    return next.handle().pipe(
      mergeMap((body: unknown) => from(this.record(req, res.statusCode, body).then(() => body))),
      catchError((err: unknown) => {
        const status = statusOf(err);
        if (status < 500) return throwError(() => err);
        return from(this.record(req, status, { error: errorCodeOf(err) })).pipe(
          mergeMap(() => throwError(() => err)),
        );
      }),
    );
  }

  private record(req: HttpRequest, statusCode: number, body: unknown): Promise<void> {
    const change = auditChangeOf(req);
    const params = Object.values(req.params ?? {});
    return this.audit.record({
      subject: req.principal?.subject ?? 'anonymous',
      roles: req.principal?.roles ?? [],
      method: req.method.toUpperCase(),
      route: (req.route?.path ?? req.url.split('?')[0]).slice(0, 500),
      path: (req.originalUrl ?? req.url).split('?')[0].slice(0, 2000),
      target:
        (change?.target ?? (params.length > 0 ? params.join('/') : null))?.slice(0, 500) ?? null,
      statusCode,
      request: isEmpty(req.body) ? null : req.body,
      before: change?.before ?? null,
      after: change ? (change.after ?? null) : (body ?? null),
      requestId: typeof req.id === 'string' ? req.id.slice(0, 128) : null,
    });
  }
}

function statusOf(err: unknown): number {
  if (err instanceof HttpException) return err.getStatus();
  if (err instanceof AppError) return httpStatusFor(err.code);
  return 500;
}

function errorCodeOf(err: unknown): string {
  if (err instanceof AppError) return err.code;
  return 'INTERNAL_ERROR';
}

function isEmpty(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    (typeof body === 'object' && Object.keys(body as object).length === 0)
  );
}
