/**
 * `clientAuth: { method: private_key_jwt }` (RFC 7523 §2.2, RFC 7521 §4.2, OIDC Core §9): the
 * gateway authenticates to the introspection endpoint with a JWT it signs with its own private
 * key, sent as `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and
 * `client_assertion=<jwt>` in the form.
 *
 * The key is read, imported (node:crypto `createPrivateKey`, synchronous) and checked against the
 * algorithm once, when the configuration is loaded; jose then keeps the WebCrypto form of that one
 * KeyObject (its own per-key cache), so a call only signs. Every call gets a fresh assertion:
 * `iss` = `sub` = the client id, `aud` = the endpoint, a new `jti` (servers refuse a replayed one,
 * RFC 7523 §3 item 7), `iat` now and `exp` 60 s later (RFC 7523 §3 item 4: a short lifetime;
 * SPEC 7.4: at most 5 minutes).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 */
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import type { Problem } from '../config/problems.js';
import type { CLIENT_ASSERTION_ALGS } from '../config/schema.js';

export type ClientAssertionAlg = (typeof CLIENT_ASSERTION_ALGS)[number];

/** RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** How long an assertion is valid: well under SPEC 7.4's 5 minutes, with room for clock skew. */
export const ASSERTION_LIFETIME_SECONDS = 60;

export interface ClientAssertionSettings {
  readonly clientId: string;
  /** The assertion's `aud`: the endpoint URL (without its query) unless configured. */
  readonly audience: string;
  readonly alg: ClientAssertionAlg;
  /** The JWS `kid` header; `null`: none (the server tries the client's keys). */
  readonly kid: string | null;
  readonly key: KeyObject;
}

const CURVE_OF_ALG: Partial<Record<ClientAssertionAlg, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
const ALG_OF_CURVE: Readonly<Record<string, ClientAssertionAlg>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/** Why `key` cannot sign with `alg` (RFC 7518 §3), or null. */
function mismatch(alg: ClientAssertionAlg, key: KeyObject): string | null {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails;
  if (alg.startsWith('ES')) {
    const curve = CURVE_OF_ALG[alg]!;
    return type === 'ec' && details?.namedCurve === curve ? null : `${alg} needs an EC ${curve} private key; this one is ${describe(key)}`;
  }
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    if (type !== 'rsa' && !(type === 'rsa-pss' && alg.startsWith('PS'))) return `${alg} needs an RSA private key; this one is ${describe(key)}`;
    // RFC 7518 §3.3: a key of 2048 bits or larger MUST be used.
    return (details?.modulusLength ?? 0) >= 2048 ? null : `${alg} needs an RSA key of at least 2048 bits (RFC 7518 section 3.3)`;
  }
  return type === 'ed25519' ? null : `EdDSA needs an Ed25519 private key; this one is ${describe(key)}`;
}

function describe(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? `an ${key.asymmetricKeyType ?? 'unknown'} key` : `an ${key.asymmetricKeyType} ${curve} key`;
}

/** The algorithm a key signs with when `alg` is left out. */
function defaultAlg(key: KeyObject): ClientAssertionAlg | null {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return ALG_OF_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? null;
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    case 'ed25519':
      return 'EdDSA';
    default:
      return null;
  }
}

/**
 * Reads the private key at `file` and checks it can sign with `alg` (or picks the algorithm the
 * key is for). Problems name `at.privateKey` or `at.alg`; `null` after a problem.
 */
export function loadClientAssertionKey(file: string, alg: ClientAssertionAlg | undefined, at: string, problems: Problem[]): { key: KeyObject; alg: ClientAssertionAlg } | null {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push({ path: `${at}.privateKey`, message: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
    return null;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    problems.push({ path: `${at}.privateKey`, message: `${file} is not an unencrypted PEM private key (${(error as Error).message})` });
    return null;
  }
  const chosen = alg ?? defaultAlg(key);
  if (chosen === null) {
    problems.push({ path: `${at}.privateKey`, message: `${file} holds ${describe(key)}, which private_key_jwt cannot sign with (EC P-256/P-384/P-521, RSA or Ed25519)` });
    return null;
  }
  const problem = mismatch(chosen, key);
  if (problem !== null) {
    problems.push({ path: alg === undefined ? `${at}.privateKey` : `${at}.alg`, message: problem });
    return null;
  }
  return { key, alg: chosen };
}

/** A fresh client assertion (RFC 7523 §3): new `jti`, `iat` = `nowSeconds`, `exp` a minute later. */
export function signClientAssertion(settings: ClientAssertionSettings, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader(settings.kid === null ? { alg: settings.alg, typ: 'JWT' } : { alg: settings.alg, typ: 'JWT', kid: settings.kid })
    .setIssuer(settings.clientId)
    .setSubject(settings.clientId)
    .setAudience(settings.audience)
    .setJti(randomUUID())
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ASSERTION_LIFETIME_SECONDS)
    .sign(settings.key);
}
