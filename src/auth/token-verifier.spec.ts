import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AuthErrorCode } from './auth.errors';
import { TokenVerifier } from './token-verifier';

const SECRET = 'unit-test-secret-0123456789abcdefghijklmnop';
const NOW = 1_800_000_000;
const { publicKey, privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

/** `undefined` in `claims` removes that claim */
const hs = (claims: Record<string, unknown>, secret = SECRET) =>
  jwt.sign(
    withoutUndefined({ sub: 'alice', roles: ['viewer'], iat: NOW, exp: NOW + 600, ...claims }),
    secret,
    { algorithm: 'HS256' },
  );
const withoutUndefined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const rs = (claims: Record<string, unknown>) =>
  jwt.sign({ sub: 'bob', roles: ['admin'], iat: NOW, exp: NOW + 600, ...claims }, privateKey, {
    algorithm: 'RS256',
  });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe(TokenVerifier.name, () => {
  const secretOnly = new TokenVerifier({ secret: SECRET, clockSkewSeconds: 30 });

  it('accepts a valid HS256 token and reads subject and roles', () => {
    expect(secretOnly.verify(hs({ roles: ['operator', 'chef', 'operator'] }), NOW)).toEqual({
      subject: 'alice',
      subjectId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      roles: ['operator'],
    });
  });

  it('tolerates an expiry within the clock skew and refuses one beyond it', () => {
    const token = hs({ exp: NOW - 20 });
    expect(secretOnly.verify(token, NOW).subject).toBe('alice');
    expect(codeOf(() => secretOnly.verify(token, NOW + 11))).toBe(AuthErrorCode.TokenExpired);
  });

  it('refuses a token not yet valid beyond the skew', () => {
    expect(codeOf(() => secretOnly.verify(hs({ nbf: NOW + 120 }), NOW))).toBe(
      AuthErrorCode.TokenInvalid,
    );
  });

  it('refuses a token signed with another secret (forged)', () => {
    expect(
      codeOf(() => secretOnly.verify(hs({}, 'another-secret-of-sufficient-length-xx'), NOW)),
    ).toBe(AuthErrorCode.TokenInvalid);
  });

  it('refuses a token whose payload was altered after signing', () => {
    const [h, , s] = hs({}).split('.');
    const payload = Buffer.from(
      JSON.stringify({ sub: 'alice', roles: ['admin'], exp: NOW + 600 }),
    ).toString('base64url');
    expect(codeOf(() => secretOnly.verify(`${h}.${payload}.${s}`, NOW))).toBe(
      AuthErrorCode.TokenInvalid,
    );
  });

  it('refuses alg "none"', () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ sub: 'alice', roles: ['admin'], exp: NOW + 600 }),
    ).toString('base64url');
    expect(codeOf(() => secretOnly.verify(`${header}.${payload}.`, NOW))).toBe(
      AuthErrorCode.TokenInvalid,
    );
  });

  it('refuses garbage, and tokens without exp or sub', () => {
    expect(codeOf(() => secretOnly.verify('not.a.jwt', NOW))).toBe(AuthErrorCode.TokenInvalid);
    expect(codeOf(() => secretOnly.verify('x'.repeat(9000), NOW))).toBe(AuthErrorCode.TokenInvalid);
    expect(codeOf(() => secretOnly.verify(hs({ exp: undefined }), NOW))).toBe(
      AuthErrorCode.TokenInvalid,
    );
    expect(codeOf(() => secretOnly.verify(hs({ sub: undefined }), NOW))).toBe(
      AuthErrorCode.TokenInvalid,
    );
  });

  it('reads no role from a roles claim that is not an array', () => {
    expect(secretOnly.verify(hs({ roles: 'admin' }), NOW).roles).toEqual([]);
  });

  describe('with a public key', () => {
    const keyOnly = new TokenVerifier({ publicKey, clockSkewSeconds: 30 });

    it('accepts RS256 tokens signed by the matching private key', () => {
      expect(keyOnly.verify(rs({}), NOW)).toEqual(
        expect.objectContaining({ subject: 'bob', roles: ['admin'] }),
      );
    });

    it('refuses HS256 tokens, including one "signed" with the public key as a secret', () => {
      const confused = jwt.sign({ sub: 'eve', roles: ['admin'], exp: NOW + 600 }, publicKey, {
        algorithm: 'HS256',
      });
      expect(codeOf(() => keyOnly.verify(confused, NOW))).toBe(AuthErrorCode.TokenInvalid);
    });
  });

  describe('with issuer and audience', () => {
    const strict = new TokenVerifier({
      secret: SECRET,
      issuer: 'https://gateway.bakery',
      audience: 'orchestrator',
      clockSkewSeconds: 0,
    });

    it('accepts matching iss and aud', () => {
      const token = hs({ iss: 'https://gateway.bakery', aud: 'orchestrator' });
      expect(strict.verify(token, NOW).subject).toBe('alice');
    });

    it('refuses another issuer or audience', () => {
      expect(codeOf(() => strict.verify(hs({ iss: 'evil', aud: 'orchestrator' }), NOW))).toBe(
        AuthErrorCode.TokenInvalid,
      );
      expect(
        codeOf(() => strict.verify(hs({ iss: 'https://gateway.bakery', aud: 'billing' }), NOW)),
      ).toBe(AuthErrorCode.TokenInvalid);
    });
  });

  it('accepts only the one token when onlyToken is set', () => {
    const only = hs({});
    const verifier = new TokenVerifier({ secret: SECRET, clockSkewSeconds: 0, onlyToken: only });
    expect(verifier.verify(only, NOW).subject).toBe('alice');
    expect(codeOf(() => verifier.verify(hs({ sub: 'mallory' }), NOW))).toBe(
      AuthErrorCode.TokenInvalid,
    );
  });
});
