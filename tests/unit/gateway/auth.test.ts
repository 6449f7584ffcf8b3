import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import {
  Authenticator,
  authConfigFromEnv,
  bearerToken,
  checkScope,
  type Principal,
  parseScopes,
  scopesOf,
} from '../../../services/core/auth.ts';

const SECRET = 'a-test-secret-of-at-least-32-characters!';
const key = new TextEncoder().encode(SECRET);
const hs = (claims: jose.JWTPayload, opts: { exp?: string | number; aud?: string; k?: Uint8Array } = {}) =>
  new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setAudience(opts.aud ?? 'stockify')
    .setExpirationTime(opts.exp ?? '5m')
    .sign(opts.k ?? key);
const hsAuth = new Authenticator({ audience: 'stockify', secret: key, defaultScopes: ['read', 'stream'] });
const principal = (scopes: Principal['scopes']): Principal => ({ subject: 's', scopes, key: 's' });

describe('scopes', () => {
  test('read from OAuth scope, scp or scopes; unknown ignored; none → the defaults', () => {
    assert.deepEqual([...scopesOf({ scope: 'read ingest admin' }, [])], ['read', 'ingest']);
    assert.deepEqual([...scopesOf({ scp: ['stream'] }, [])], ['stream']);
    assert.deepEqual([...scopesOf({ scopes: ['read'] }, [])], ['read']);
    assert.deepEqual([...scopesOf({ sub: 'system:serviceaccount:markets:app' }, ['read', 'stream'])], ['read', 'stream']);
    assert.deepEqual([...scopesOf({ scope: '' }, ['read'])], [], 'an explicit empty scope grants nothing');
  });
  test('a missing scope is 403, a present one passes', () => {
    assert.deepEqual(checkScope(principal(new Set(['read'])), 'read').ok, true);
    const refused = checkScope(principal(new Set(['read'])), 'ingest');
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.status, 403);
  });
  test('parseScopes names an unknown scope', () => {
    assert.deepEqual(parseScopes('read, stream'), ['read', 'stream']);
    assert.throws(() => parseScopes('read write', 'AUTH_DEFAULT_SCOPES'), /AUTH_DEFAULT_SCOPES: unknown scope 'write'/);
  });
  test('bearer header parsing', () => {
    assert.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi');
    assert.equal(bearerToken('bearer x'), 'x');
    assert.equal(bearerToken('Basic dXNlcg=='), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });
});

describe('HS256 tokens', () => {
  test('valid with the scope → ok with subject', async () => {
    const out = await hsAuth.authenticate(`Bearer ${await hs({ sub: 'alice', scope: 'read' })}`, 'read');
    assert.equal(out.ok, true);
    assert.equal(out.ok && out.principal.subject, 'alice');
  });
  test('no token → 401', async () => {
    const out = await hsAuth.authenticate(undefined, 'read');
    assert.deepEqual(out.ok ? 0 : out.status, 401);
  });
  test('expired → 401 "token expired"', async () => {
    const out = await hsAuth.authenticate(
      `Bearer ${await hs({ scope: 'read' }, { exp: Math.floor(Date.now() / 1000) - 60 })}`,
      'read',
    );
    assert.ok(!out.ok && out.status === 401 && /expired/.test(out.reason), JSON.stringify(out));
  });
  test('wrong audience → 401 naming aud', async () => {
    const out = await hsAuth.authenticate(`Bearer ${await hs({ scope: 'read' }, { aud: 'other' })}`, 'read');
    assert.ok(!out.ok && out.status === 401 && /'aud'/.test(out.reason), JSON.stringify(out));
  });
  test('wrong signature → 401', async () => {
    const other = new TextEncoder().encode('another-secret-that-is-32-characters-long');
    const out = await hsAuth.authenticate(`Bearer ${await hs({ scope: 'read' }, { k: other })}`, 'read');
    assert.ok(!out.ok && out.status === 401 && /signature/.test(out.reason), JSON.stringify(out));
  });
  test('valid but missing scope → 403', async () => {
    const out = await hsAuth.authenticate(`Bearer ${await hs({ scope: 'read' })}`, 'ingest');
    assert.ok(!out.ok && out.status === 403, JSON.stringify(out));
  });
  test('a refusal never carries the token', async () => {
    const token = await hs({ scope: 'read' }, { aud: 'x' });
    const out = await hsAuth.authenticate(`Bearer ${token}`, 'read');
    assert.ok(!out.ok && !out.reason.includes(token.split('.')[2] ?? '!'));
  });
});

describe('JWKS (a local issuer) and key rotation', () => {
  let server: Server;
  let url = '';
  let published: jose.JWK[] = [];
  let fetches = 0;
  before(async () => {
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/jwks`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const keyPair = async (kid: string) => {
    const { publicKey, privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
    return { kid, privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
  };
  const rs = (k: { kid: string; privateKey: jose.CryptoKey }, claims: jose.JWTPayload) =>
    new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: k.kid })
      .setIssuer('https://issuer.test')
      .setAudience('stockify')
      .setExpirationTime('5m')
      .sign(k.privateKey);

  test('a token of a rotated-in key verifies after the JWKS refetch; a retired key no longer does', async () => {
    const k1 = await keyPair('k1');
    const k2 = await keyPair('k2');
    published = [k1.jwk];
    const auth = new Authenticator(
      { audience: 'stockify', issuer: 'https://issuer.test', jwksUrl: url, defaultScopes: ['read'] },
      { cooldownMs: 0 },
    );
    assert.equal((await auth.authenticate(`Bearer ${await rs(k1, { sub: 'a' })}`, 'read')).ok, true);
    const before = fetches;
    // The issuer rotates: k2 in, k1 out.
    published = [k2.jwk];
    const t2 = await auth.authenticate(`Bearer ${await rs(k2, { sub: 'b' })}`, 'read');
    assert.equal(t2.ok, true, JSON.stringify(t2));
    assert.ok(fetches > before, 'the unknown kid made the gateway refetch the JWKS');
    const t1 = await auth.authenticate(`Bearer ${await rs(k1, { sub: 'a' })}`, 'read');
    assert.ok(!t1.ok && t1.status === 401, JSON.stringify(t1));
    const wrongIssuer = await new jose.SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k2' })
      .setIssuer('https://elsewhere.test')
      .setAudience('stockify')
      .setExpirationTime('5m')
      .sign(k2.privateKey);
    const t3 = await auth.authenticate(`Bearer ${wrongIssuer}`, 'read');
    assert.ok(!t3.ok && t3.status === 401 && /'iss'/.test(t3.reason), JSON.stringify(t3));
  });
});

describe('authConfigFromEnv', () => {
  test('off when neither a secret nor a JWKS URL is set', () => {
    assert.equal(authConfigFromEnv({}), undefined);
  });
  test('names the variable at fault', () => {
    assert.throws(() => authConfigFromEnv({ AUTH_HS256_SECRET: 'short' }), /AUTH_HS256_SECRET: must be at least 32/);
    assert.throws(() => authConfigFromEnv({ AUTH_JWKS_URL: 'ftp://x' }), /AUTH_JWKS_URL/);
    assert.throws(() => authConfigFromEnv({ AUTH_HS256_SECRET: SECRET, AUTH_JWKS_URL: 'https://x/jwks' }), /one, not both/);
  });
  test('defaults: audience stockify, scopes read and stream', () => {
    const c = authConfigFromEnv({ AUTH_JWKS_URL: 'https://kubernetes.default.svc/openid/v1/jwks' });
    assert.equal(c?.audience, 'stockify');
    assert.deepEqual(c?.defaultScopes, ['read', 'stream']);
  });
});
