/**
 * RFC 9701 JWT introspection answers (`accept: jwt`): the 200 body is a JWT signed by the
 * authorization server; it is verified, and its `token_introspection` claim becomes the answer the
 * judge reads, exactly as if the server had sent that JSON object.
 *
 * Verified with jose `jwtVerify` against the server's keys (`jwksUrl`, jose's remote JWKS: fetched
 * on first use through the validator's own dispatcher, so proxy and TLS settings apply; cached;
 * refetched on an unknown `kid` at most once per cooldown): only asymmetric algorithms (never
 * `none`, never HMAC, so a public key can never be used as a shared secret), header `typ`
 * `token-introspection+jwt` (RFC 9701 §5, against cross-JWT confusion), `iss` = requireIssuer, `aud`
 * = the gateway's client id. Any failure means the validator cannot be believed: unavailable
 * (SPEC 7.4), never valid and never cached.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9701
 */
import { createRemoteJWKSet, customFetch, jwtVerify, type FetchImplementation, type JWTVerifyGetKey } from 'jose';
import type { Dispatcher } from 'undici';
import { readBounded } from '../http/body.js';
import { ValidatorCallError } from './call-error.js';
import type { ValidatorAnswer } from './judge.js';

/** RFC 9701 §4 / §5. */
export const INTROSPECTION_JWT_MEDIA_TYPE = 'application/token-introspection+jwt';
export const INTROSPECTION_JWT_TYP = 'token-introspection+jwt';

/** RFC 7518 §3.1 and RFC 8037: the asymmetric JWS algorithms; `none` and HS* are never accepted. */
const ASYMMETRIC_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'];

/** The most of a JWKS that is read. */
const MAX_JWKS_BYTES = 256 * 1024;

export interface JwtAnswerSettings {
  readonly jwksUrl: string;
  /** The answer's `iss` (requireIssuer). */
  readonly issuer: string;
  /** The answer's `aud`: the gateway's client id. */
  readonly audience: string;
  readonly cooldownMs: number;
  readonly clockSkewSeconds: number;
  readonly timeoutMs: number;
}

/** The JWKS fetched through `dispatcher` (undici), bounded, redirects never followed. */
function fetchThrough(dispatcher: Dispatcher): FetchImplementation {
  return async (url, options) => {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    options.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const { statusCode, body } = await dispatcher.request({ origin: target.origin, path: `${target.pathname}${target.search}`, method: 'GET', headers, signal: options.signal });
    if (statusCode !== 200) {
      await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      return new Response(null, { status: statusCode >= 200 && statusCode <= 599 ? statusCode : 502 });
    }
    const bytes = await readBounded(body, MAX_JWKS_BYTES).catch((error: unknown) => {
      body.destroy();
      throw error;
    });
    return new Response(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

/** Errors that say the keys could not be had (rather than that the answer is bad). */
const KEY_FETCH_CODES: ReadonlySet<string> = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

export class JwtAnswerVerifier {
  readonly #settings: JwtAnswerSettings;
  readonly #keys: JWTVerifyGetKey;

  constructor(settings: JwtAnswerSettings, dispatcher: Dispatcher) {
    this.#settings = settings;
    this.#keys = createRemoteJWKSet(new URL(settings.jwksUrl), {
      timeoutDuration: settings.timeoutMs,
      cooldownDuration: settings.cooldownMs,
      [customFetch]: fetchThrough(dispatcher),
    });
  }

  /**
   * The 200 answer opened: its `token_introspection` claim as a JSON answer, once the JWT verifies.
   * Throws a ValidatorCallError (unavailable) when it does not, or when the keys cannot be fetched.
   */
  async open(answer: ValidatorAnswer): Promise<ValidatorAnswer> {
    if (answer.status !== 200) return answer;
    // RFC 9701 §4: the answer is application/token-introspection+jwt; a plain JSON answer is unsigned.
    if (answer.mediaType !== INTROSPECTION_JWT_MEDIA_TYPE && answer.mediaType !== 'application/jwt') {
      throw new ValidatorCallError('validator_answer_unverified', `the answer is not a signed JWT (${answer.mediaType || 'no content type'}), though accept: jwt asked for one`);
    }
    const jwt = (answer.body ?? Buffer.alloc(0)).toString('latin1').trim();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(jwt, this.#keys, {
        algorithms: ASYMMETRIC_ALGORITHMS,
        typ: INTROSPECTION_JWT_TYP,
        issuer: this.#settings.issuer,
        audience: this.#settings.audience,
        clockTolerance: this.#settings.clockSkewSeconds,
      }));
    } catch (error) {
      throw verificationError(error);
    }
    const claims = payload.token_introspection;
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
      throw new ValidatorCallError('validator_bad_answer', 'the verified JWT answer has no token_introspection object (RFC 9701 section 5)');
    }
    return { status: 200, mediaType: 'application/json', body: Buffer.from(JSON.stringify(claims), 'utf8') };
  }
}

function verificationError(error: unknown): ValidatorCallError {
  const code = (error as { code?: unknown } | null)?.code;
  const name = typeof code === 'string' ? code : '';
  const message = error instanceof Error ? error.message : String(error);
  // jose's own errors carry an ERR_J* code; anything else came from fetching the keys.
  if (KEY_FETCH_CODES.has(name) || !name.startsWith('ERR_J')) {
    return new ValidatorCallError('validator_keys_unavailable', `the keys that sign the answers could not be fetched (${name || (error as Error | null)?.name || 'error'}: ${message})`);
  }
  return new ValidatorCallError('validator_answer_unverified', `the JWT answer did not verify (${name}: ${message})`);
}
