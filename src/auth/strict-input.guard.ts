import { BadRequestException, CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { problemsOfValues } from 'src/common/validation/input-boundary';

interface HttpRequest {
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
}

/**
 * Path and query parameters, once routed so each can be named: no control characters (a
 * NUL reached PostgreSQL as "invalid byte sequence" and answered 500) and no query key
 * naming a prototype property. The body was checked the same way before it was parsed
 * (src/auth/http-hardening.ts).
 *
 * "Bad input is refused whole" (docs/architecture.md guarantee 8) for what class-validator never
 * sees: a query string sent to a route that reads none, or a body sent to a route that
 * takes none (enable, disable, retry). Both would otherwise be ignored silently, and a
 * caller who believed a filter or an option applied would be misled. Runs after the auth
 * guards, so an anonymous caller still learns nothing beyond 401.
 */
@Injectable()
export class StrictInputGuard implements CanActivate {
  private readonly shapes = new WeakMap<object, { query: boolean; body: boolean }>();

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const problems = [
      ...problemsOfValues(req.params ?? {}, 'path'),
      ...problemsOfValues(req.query ?? {}, 'query'),
    ];
    if (problems.length > 0) {
      throw refuse(problems, problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    }
    const shape = this.shapeOf(context);
    const queryKeys = Object.keys(req.query ?? {});
    if (!shape.query && queryKeys.length > 0) {
      throw refuse(
        queryKeys.map((k) => ({ field: k.slice(0, 100), message: 'unknown query parameter' })),
        `this route takes no query parameters (got ${queryKeys.slice(0, 5).join(', ')})`,
      );
    }
    if (!shape.body && hasContent(req.body)) {
      throw refuse(
        [{ field: 'body', message: 'this route takes no body' }],
        'this route takes no body',
      );
    }
    return true;
  }

  private shapeOf(context: ExecutionContext): { query: boolean; body: boolean } {
    const handler = context.getHandler();
    let shape = this.shapes.get(handler);
    if (!shape) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ??
        {}) as Record<string, unknown>;
      const types = Object.keys(args).map((k) => Number(k.split(':')[0]));
      shape = {
        query: types.includes(RouteParamtypes.QUERY),
        body: types.includes(RouteParamtypes.BODY) || types.includes(RouteParamtypes.RAW_BODY),
      };
      this.shapes.set(handler, shape);
    }
    return shape;
  }
}

function hasContent(body: unknown): boolean {
  if (body === undefined || body === null) return false;
  if (typeof body === 'object' && !Array.isArray(body)) return Object.keys(body).length > 0;
  return true;
}

function refuse(details: { field: string; message: string }[], message: string) {
  return new BadRequestException({
    statusCode: 400,
    error: 'REQUEST_INVALID',
    message,
    details,
  });
}
