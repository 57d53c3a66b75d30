import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import { AuthError, AuthErrorCode } from './auth.errors';
import type { Principal } from './principal';
import { isReadMethod } from './roles';

export const MUTATIONS_THROTTLER = 'mutations';

/**
 * Rate limit on mutating routes only (reads and probes are never throttled), counted per
 * caller: the token subject when AuthGuard found one (it runs first), else the address.
 * The counters live in this instance's memory, so with N replicas behind a balancer a
 * caller gets up to N times the limit; that bounds accidents and scripts gone wild, which
 * is what it is for, without a Redis round trip on every write.
 */
@Injectable()
export class MutationThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    return isReadMethod(context.switchToHttp().getRequest<{ method: string }>().method);
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const principal = req.principal as Principal | undefined;
    return principal ? `sub:${principal.subject}` : `ip:${String(req.ip)}`;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    // the library names its header after the throttler ("Retry-After-mutations"), which no
    // client reads; the standard one says when to come back
    context
      .switchToHttp()
      .getResponse<{ setHeader(name: string, value: string): void }>()
      .setHeader('Retry-After', String(Math.max(1, detail.timeToBlockExpire)));
    throw new AuthError(
      AuthErrorCode.RateLimited,
      `more than ${detail.limit} changes in ${Math.round(detail.ttl / 1000)} s; retry in ${detail.timeToBlockExpire} s`,
    ).toHttp();
  }
}
