import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Clock } from 'src/common/time/clock';
import { AppConfig } from 'src/config/app-config.service';
import { TokenVerifier } from './token-verifier';

/** Subject of the token generated in embedded mode (audit rows show it). */
export const GENERATED_TOKEN_SUBJECT = 'local-admin';
const GENERATED_TOKEN_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

/**
 * How this instance checks tokens, decided once at start:
 * - `configured`: AUTH_JWT_SECRET (HS256) and/or AUTH_JWT_PUBLIC_KEY (RS256), as issued by
 *   the platform's gateway;
 * - `generated`: neither is set (embedded default): a random in-memory secret signs one
 *   admin token, printed once at start, and only that exact token is accepted. It dies with
 *   the process, so a leaked copy is worthless after a restart.
 * Production refuses to start in generated mode: every replica would print its own token.
 */
export class AuthSetup {
  private constructor(
    readonly verifier: TokenVerifier,
    readonly mode: 'configured' | 'generated',
    readonly generatedToken: string | null,
  ) {}

  static fromConfig(config: AppConfig, clock: Clock): AuthSetup {
    const secret = config.get('AUTH_JWT_SECRET');
    const publicKey = config.get('AUTH_JWT_PUBLIC_KEY');
    const issuer = config.get('AUTH_JWT_ISSUER');
    const audience = config.get('AUTH_JWT_AUDIENCE');
    const clockSkewSeconds = config.get('AUTH_CLOCK_SKEW_SECONDS');
    if (secret || publicKey) {
      return new AuthSetup(
        new TokenVerifier({ secret, publicKey, issuer, audience, clockSkewSeconds }),
        'configured',
        null,
      );
    }
    if (config.get('NODE_ENV') === 'production') {
      throw new Error(
        'NODE_ENV=production needs AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY: the generated one-off admin token is for local use only',
      );
    }
    const generatedSecret = randomBytes(32).toString('base64url');
    const now = Math.floor(clock.now().getTime() / 1000);
    const token = jwt.sign(
      {
        sub: GENERATED_TOKEN_SUBJECT,
        roles: ['admin'],
        iat: now,
        exp: now + GENERATED_TOKEN_LIFETIME_SECONDS,
        ...(issuer ? { iss: issuer } : {}),
        ...(audience ? { aud: audience } : {}),
      },
      generatedSecret,
      { algorithm: 'HS256' },
    );
    return new AuthSetup(
      new TokenVerifier({
        secret: generatedSecret,
        issuer,
        audience,
        clockSkewSeconds,
        onlyToken: token,
      }),
      'generated',
      token,
    );
  }
}
