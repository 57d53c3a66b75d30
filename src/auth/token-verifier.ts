import jwt, { JsonWebTokenError, NotBeforeError, TokenExpiredError } from 'jsonwebtoken';
import { AuthError, AuthErrorCode } from './auth.errors';
import { Principal, subjectIdOf } from './principal';
import { isRole } from './roles';

export interface VerifierKeys {
  /** HS256 shared secret */
  secret?: string;
  /** RS256 PEM public key */
  publicKey?: string;
  issuer?: string;
  audience?: string;
  clockSkewSeconds: number;
  /** when set, only this exact token is accepted (the generated embedded-mode token) */
  onlyToken?: string;
}

const MAX_TOKEN_LENGTH = 8192;

/**
 * Checks a bearer token and returns who it speaks for. Pure apart from the clock value it
 * is given: `nowSeconds` comes from the injected Clock, so tests move time instead of
 * minting tokens in the past.
 *
 * The algorithm is chosen by the key we hold, never by the token's header: HS256 only with
 * the secret, RS256 only with the public key (no "alg: none", no HS256 signed with the
 * public key as a secret).
 */
export class TokenVerifier {
  constructor(private readonly keys: VerifierKeys) {
    if (!keys.secret && !keys.publicKey)
      throw new Error('TokenVerifier needs a secret or a public key');
  }

  verify(token: string, nowSeconds: number): Principal {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new AuthError(AuthErrorCode.TokenInvalid, 'the bearer token is malformed');
    }
    if (this.keys.onlyToken !== undefined && token !== this.keys.onlyToken) {
      throw new AuthError(
        AuthErrorCode.TokenInvalid,
        'the bearer token is not the one this instance printed at start',
      );
    }
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload === 'string') {
      throw new AuthError(AuthErrorCode.TokenInvalid, 'the bearer token is not a JWT');
    }
    const alg = decoded.header.alg;
    const key =
      alg === 'HS256' ? this.keys.secret : alg === 'RS256' ? this.keys.publicKey : undefined;
    if (!key) {
      throw new AuthError(
        AuthErrorCode.TokenInvalid,
        `tokens signed with ${String(alg)} are not accepted`,
      );
    }
    let payload: jwt.JwtPayload;
    try {
      payload = jwt.verify(token, key, {
        algorithms: [alg as jwt.Algorithm],
        issuer: this.keys.issuer,
        audience: this.keys.audience,
        clockTolerance: this.keys.clockSkewSeconds,
        clockTimestamp: nowSeconds,
      }) as jwt.JwtPayload;
    } catch (err) {
      throw toAuthError(err);
    }
    if (typeof payload.exp !== 'number') {
      throw new AuthError(AuthErrorCode.TokenInvalid, 'the bearer token has no expiry (exp)');
    }
    if (typeof payload.sub !== 'string' || payload.sub.trim() === '' || payload.sub.length > 255) {
      throw new AuthError(AuthErrorCode.TokenInvalid, 'the bearer token has no subject (sub)');
    }
    const claimed: unknown = payload.roles;
    const roles = Array.isArray(claimed) ? [...new Set(claimed.filter(isRole))] : [];
    return { subject: payload.sub, subjectId: subjectIdOf(payload.sub), roles };
  }
}

function toAuthError(err: unknown): AuthError {
  if (err instanceof TokenExpiredError) {
    return new AuthError(
      AuthErrorCode.TokenExpired,
      `the bearer token expired at ${err.expiredAt.toISOString()}`,
    );
  }
  if (err instanceof NotBeforeError) {
    return new AuthError(
      AuthErrorCode.TokenInvalid,
      `the bearer token is not valid before ${err.date.toISOString()}`,
    );
  }
  if (err instanceof JsonWebTokenError) {
    // jsonwebtoken's messages name the failed check (signature, issuer, audience), never the token
    return new AuthError(
      AuthErrorCode.TokenInvalid,
      `the bearer token was refused: ${err.message}`,
    );
  }
  return new AuthError(AuthErrorCode.TokenInvalid, 'the bearer token was refused');
}
