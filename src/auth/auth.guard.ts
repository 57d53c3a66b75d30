import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Clock } from 'src/common/time/clock';
import { AppConfig } from 'src/config/app-config.service';
import { Access, AUTH_ACCESS_METADATA } from './auth.decorators';
import { AuthError, AuthErrorCode } from './auth.errors';
import { AuthSetup } from './auth-setup';
import type { Principal } from './principal';
import { defaultRoleFor, grants, isReadMethod, Role } from './roles';

interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  principal?: Principal;
}
interface HttpResponse {
  setHeader(name: string, value: string): void;
}

/**
 * The global guard (APP_GUARD): every route needs a valid bearer token and a role unless
 * it is marked @Public(). A missing, malformed, expired or forged token is a 401, a token
 * without the role a 403; anonymous writes are impossible because @Public() is only on
 * the health probes and the metrics exposition, which are GETs.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger('Auth');
  private readonly metricsNeedAuth: boolean;

  constructor(
    private readonly reflector: Reflector,
    private readonly setup: AuthSetup,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    // a production exposition names workflows, tenants' counts and error rates: closed
    // unless the operator opens it explicitly (METRICS_REQUIRE_AUTH=false)
    this.metricsNeedAuth =
      config.get('METRICS_REQUIRE_AUTH') ?? config.get('NODE_ENV') === 'production';
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const access = this.reflector.getAllAndOverride<Access | undefined>(AUTH_ACCESS_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    const isRead = isReadMethod(req.method);
    if (access?.kind === 'public' && isRead) return true;
    if (access?.kind === 'metrics' && !this.metricsNeedAuth && isRead) return true;
    const required: Role = access?.kind === 'role' ? access.role : defaultRoleFor(req.method);
    try {
      const principal = this.authenticate(req);
      if (!grants(principal.roles, required)) {
        throw new AuthError(
          AuthErrorCode.Forbidden,
          `${req.method} ${routeOf(req)} needs the ${required} role; the token has ${principal.roles.length > 0 ? principal.roles.join(', ') : 'no known role'}`,
        );
      }
      req.principal = principal;
      return true;
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      if (err.code !== AuthErrorCode.Forbidden) {
        const res = context.switchToHttp().getResponse<HttpResponse>();
        res.setHeader('WWW-Authenticate', 'Bearer realm="orchestrator", error="invalid_token"');
      }
      // refusals are security events: logged with who (when known) and where, never the token
      this.logger.warn({
        msg: 'request refused',
        code: err.code,
        method: req.method,
        route: routeOf(req),
        subject: req.principal?.subject,
        reason: err.message,
      });
      throw err.toHttp();
    }
  }

  private authenticate(req: HttpRequest): Principal {
    const header = req.headers.authorization;
    if (header === undefined || header === '') {
      throw new AuthError(
        AuthErrorCode.TokenMissing,
        'this route needs a bearer token: Authorization: Bearer <JWT>',
      );
    }
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      throw new AuthError(
        AuthErrorCode.TokenInvalid,
        'the Authorization header must be "Bearer <JWT>"',
      );
    }
    const principal = this.setup.verifier.verify(
      match[1],
      Math.floor(this.clock.now().getTime() / 1000),
    );
    req.principal = principal;
    return principal;
  }
}

function routeOf(req: HttpRequest): string {
  return req.url.split('?')[0].slice(0, 200);
}
