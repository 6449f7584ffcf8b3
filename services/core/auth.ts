// Bearer-token authentication, one model for gRPC (MarketData, Ingest) and HTTP (the gateway):
// JWTs verified with jose against an HS256 secret or a JWKS (an OIDC issuer's, or the cluster's
// service-account issuer, whose projected tokens carry audience `stockify`), then a scope check.
// 401 means "who are you?" (no token, bad signature, expired, wrong audience); 403 means "you may
// not" (a valid token without the scope). Tokens are never logged: only the reason and the subject.
import { readFileSync } from 'node:fs';
import type * as Jose from 'jose';

export const SCOPES = ['read', 'stream', 'ingest'] as const;
export type Scope = (typeof SCOPES)[number];
export const DEFAULT_AUDIENCE = 'stockify';

export interface AuthConfig {
  audience: string;
  /** Required `iss` when set. */
  issuer?: string;
  /** HS256 shared secret (from a Secret). */
  secret?: Uint8Array;
  /** JWKS URL (OIDC issuer's jwks_uri, or the cluster's /openid/v1/jwks). */
  jwksUrl?: string;
  /** Headers of the JWKS request: the cluster's issuer answers authenticated service accounts only. */
  jwksHeaders?: Record<string, string>;
  /** Scopes of a token that carries none (a projected ServiceAccount token): read and stream by default. */
  defaultScopes: Scope[];
}

export interface Principal {
  subject: string;
  scopes: ReadonlySet<Scope>;
  /** Key for per-token rate limits: the token id, else the subject. */
  key: string;
}

export type AuthOutcome = { ok: true; principal: Principal } | { ok: false; status: 401 | 403; reason: string };

const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/** Parses a scope list ("read stream", "read,stream"); throws naming the unknown scope. */
export function parseScopes(text: string, what = 'scopes'): Scope[] {
  const out: Scope[] = [];
  for (const s of text.split(/[\s,]+/).filter(Boolean)) {
    if (!isScope(s)) throw new Error(`${what}: unknown scope '${s}' (one of ${SCOPES.join(', ')})`);
    out.push(s);
  }
  return out;
}

/**
 * The scopes a verified token grants: OAuth's space-separated `scope`, or an `scp` / `scopes` array;
 * unknown scopes are ignored. A token with none of these claims gets `defaults`.
 */
export function scopesOf(claims: Jose.JWTPayload, defaults: readonly Scope[]): Set<Scope> {
  const raw = claims.scope ?? claims.scp ?? claims.scopes;
  if (raw === undefined) return new Set(defaults);
  const list = typeof raw === 'string' ? raw.split(/\s+/) : Array.isArray(raw) ? raw.map(String) : [];
  return new Set(list.filter(isScope));
}

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** 403 when the principal lacks `scope`; pure, so the rule is tested without tokens. */
export function checkScope(principal: Principal, scope: Scope): AuthOutcome {
  return principal.scopes.has(scope)
    ? { ok: true, principal }
    : { ok: false, status: 403, reason: `token lacks scope '${scope}' (has: ${[...principal.scopes].join(' ') || 'none'})` };
}

/** Why jose refused a token, in words a client can act on (never the token itself). */
function refusal(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `token claim '${(err as { claim?: string }).claim ?? '?'}' invalid: ${(err as Error).message}`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'token signature invalid';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'token signed by a key the issuer does not publish';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'token algorithm not allowed';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return `cannot read the JWKS: ${(err as Error).message}`;
    default:
      return code ? `token invalid (${code})` : `token invalid: ${(err as Error).message}`;
  }
}

interface Verifier {
  jose: typeof Jose;
  key: Uint8Array | Jose.JWTVerifyGetKey;
}

export class Authenticator {
  readonly config: AuthConfig;
  private readonly algorithms: string[];
  private readonly jwksCooldownMs: number;
  /** jose and the key, loaded at the first token: every process imports this file, few verify tokens. */
  private verifier: Promise<Verifier> | undefined;

  constructor(config: AuthConfig, jwks: { cooldownMs?: number } = {}) {
    this.config = config;
    this.jwksCooldownMs = jwks.cooldownMs ?? 30_000;
    if (config.secret) this.algorithms = ['HS256'];
    else if (config.jwksUrl) this.algorithms = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256', 'EdDSA'];
    else throw new Error('auth: set a secret (HS256) or a JWKS URL');
  }

  private loadVerifier(): Promise<Verifier> {
    this.verifier ??= import('jose').then((jose) => {
      const { secret, jwksUrl, jwksHeaders } = this.config;
      if (secret) return { jose, key: secret };
      // A kid the cached set lacks triggers a refetch (key rotation), at most once per cooldown.
      const key = jose.createRemoteJWKSet(new URL(jwksUrl as string), {
        cooldownDuration: this.jwksCooldownMs,
        ...(jwksHeaders ? { headers: jwksHeaders } : {}),
      });
      return { jose, key };
    });
    return this.verifier;
  }

  /** Verifies the bearer token of an Authorization header and checks `scope`. */
  async authenticate(authorization: string | undefined, scope: Scope): Promise<AuthOutcome> {
    const token = bearerToken(authorization);
    if (!token) return { ok: false, status: 401, reason: 'bearer token required (Authorization: Bearer <JWT>)' };
    const { jose, key } = await this.loadVerifier();
    let claims: Jose.JWTPayload;
    try {
      const opts: Jose.JWTVerifyOptions = {
        audience: this.config.audience,
        algorithms: this.algorithms,
        ...(this.config.issuer ? { issuer: this.config.issuer } : {}),
      };
      const verified =
        key instanceof Uint8Array ? await jose.jwtVerify(token, key, opts) : await jose.jwtVerify(token, key, opts);
      claims = verified.payload;
    } catch (err) {
      return { ok: false, status: 401, reason: refusal(err) };
    }
    const subject = claims.sub ?? 'anonymous';
    const principal: Principal = { subject, scopes: scopesOf(claims, this.config.defaultScopes), key: claims.jti ?? subject };
    return checkScope(principal, scope);
  }
}

/**
 * Auth settings from the environment (what the operator sets from spec.auth); undefined when
 * neither AUTH_HS256_SECRET nor AUTH_JWKS_URL is set (auth off). AUTH_HS256_SECRET_FILE reads the
 * secret from a file. Throws naming the variable on a bad value.
 */
export function authConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AuthConfig | undefined {
  const secretFile = env.AUTH_HS256_SECRET_FILE;
  const secretText = env.AUTH_HS256_SECRET || (secretFile ? readFileSync(secretFile, 'utf8').trim() : '');
  const jwksUrl = env.AUTH_JWKS_URL || undefined;
  if (!secretText && !jwksUrl) return undefined;
  if (secretText && jwksUrl) throw new Error('AUTH_HS256_SECRET and AUTH_JWKS_URL: set one, not both');
  if (secretText && secretText.length < 32) throw new Error('AUTH_HS256_SECRET: must be at least 32 characters');
  if (jwksUrl && !/^https?:\/\//.test(jwksUrl)) throw new Error(`AUTH_JWKS_URL: not an http(s) URL: ${jwksUrl}`);
  return {
    audience: env.AUTH_AUDIENCE || DEFAULT_AUDIENCE,
    ...(env.AUTH_ISSUER ? { issuer: env.AUTH_ISSUER } : {}),
    ...(secretText ? { secret: new TextEncoder().encode(secretText) } : {}),
    ...(jwksUrl ? { jwksUrl } : {}),
    ...(jwksUrl && env.AUTH_JWKS_TOKEN_FILE
      ? { jwksHeaders: { authorization: `Bearer ${readFileSync(env.AUTH_JWKS_TOKEN_FILE, 'utf8').trim()}` } }
      : {}),
    defaultScopes: parseScopes(env.AUTH_DEFAULT_SCOPES ?? 'read stream', 'AUTH_DEFAULT_SCOPES'),
  };
}
