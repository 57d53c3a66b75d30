import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { Principal } from './principal';
import type { Role } from './roles';

export const AUTH_ACCESS_METADATA = 'orchestrator:auth-access';

/** Who may call a handler; the handler's own decorator wins over its controller's. */
export type Access =
  | { kind: 'public' }
  /** viewer when METRICS_REQUIRE_AUTH (default: NODE_ENV=production), else open */
  | { kind: 'metrics' }
  | { kind: 'role'; role: Role };

/**
 * The least role a handler needs (admin ⊃ operator ⊃ viewer). Without it a GET needs
 * viewer and anything else admin (roles.ts `defaultRoleFor`).
 */
export const Roles = (role: Role) =>
  applyDecorators(
    SetMetadata(AUTH_ACCESS_METADATA, { kind: 'role', role } satisfies Access),
    ApiExtension('x-required-role', role),
  );

/** No token needed (health probes). Never put it on a mutating route. */
export const Public = () =>
  applyDecorators(
    SetMetadata(AUTH_ACCESS_METADATA, { kind: 'public' } satisfies Access),
    ApiExtension('x-auth', 'public'),
  );

/** The Prometheus exposition: viewer in production (METRICS_REQUIRE_AUTH), open elsewhere. */
export const MetricsAccess = () =>
  applyDecorators(
    SetMetadata(AUTH_ACCESS_METADATA, { kind: 'metrics' } satisfies Access),
    ApiExtension('x-auth', 'metrics'),
  );

/** The authenticated caller (AuthGuard ran before any handler that reads it). */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Principal | undefined =>
    ctx.switchToHttp().getRequest<{ principal?: Principal }>().principal,
);
