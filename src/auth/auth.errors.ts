import { ForbiddenException, HttpException, UnauthorizedException } from '@nestjs/common';

/** Wire codes of the auth module (the `error` field of a 401/403/429 body). */
export enum AuthErrorCode {
  TokenMissing = 'AUTH_TOKEN_MISSING',
  TokenInvalid = 'AUTH_TOKEN_INVALID',
  TokenExpired = 'AUTH_TOKEN_EXPIRED',
  Forbidden = 'AUTH_FORBIDDEN',
  RateLimited = 'AUTH_RATE_LIMITED',
}

/**
 * Why a token was refused, as a value: the verifier is pure and the guard turns this into
 * a 401. `message` never contains the token itself.
 */
export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }

  /** The HTTP exception the shared filter renders as `{statusCode, error, message}`. */
  toHttp(): HttpException {
    const body = { statusCode: 0, error: this.code, message: this.message };
    if (this.code === AuthErrorCode.Forbidden)
      return new ForbiddenException({ ...body, statusCode: 403 });
    if (this.code === AuthErrorCode.RateLimited)
      return new HttpException({ ...body, statusCode: 429 }, 429);
    return new UnauthorizedException({ ...body, statusCode: 401 });
  }
}
