/**
 * Judging the validator's answer: a pure function of status, content type, body and the clock.
 *
 * The seed's rules first: 200 OK is a successful validation, any other status a failed one.
 * SPEC section 1 adds, for RFC 7662 servers that answer 200 `{"active": false}` for a dead token:
 * with `requireActive: auto` a 200 JSON object with an `active` member is valid only when it is the
 * boolean `true`, and with `style: rfc7662` a 200 that is not a JSON object with `active: true` is
 * invalid whatever `requireActive` says (RFC 7662 §2.2: `active` is REQUIRED); an `exp` in the past
 * or an `nbf` in the future (beyond the skew) is invalid. 5xx, 429 and a body that cannot be read
 * are the validator's trouble, not the token's: they make the result "unavailable", never cached.
 *
 * Whether a body is JSON is decided by reading it, not by its label: a `{"active":false}` sent as
 * `text/plain`, or with a byte-order mark, must still be read, or its `active` would be skipped.
 */
import type { RequireActive } from '../config/compile.js';
import type { StoredReason, UnavailableReason } from '../pipeline/reasons.js';

export interface ValidatorAnswer {
  readonly status: number;
  /** Lower-case media type without parameters, or '' when absent. */
  readonly mediaType: string;
  /** Only read for a 200; `null` otherwise. */
  readonly body: Buffer | null;
}

export type Judgement =
  | {
      readonly kind: 'valid';
      /** The parsed 200 body when it was JSON, for identity headers. */
      readonly claims: unknown;
      /** The 200 JSON body's bytes (one char per byte, without a byte-order mark); '' when not JSON. */
      readonly claimsText: string;
      /** RFC 7662 `exp`, seconds since the epoch. */
      readonly exp: number | undefined;
      readonly active: boolean | undefined;
      /** Granted scopes; empty when the answer has none. */
      readonly scopes: readonly string[];
    }
  | { readonly kind: 'invalid'; readonly reason: StoredReason }
  | { readonly kind: 'unavailable'; readonly reason: UnavailableReason };

export interface JudgeOptions {
  readonly style: 'bearer' | 'rfc7662';
  readonly requireActive: RequireActive;
  readonly clockSkewSeconds: number;
}

export function judgeAnswer(answer: ValidatorAnswer, options: JudgeOptions, nowSeconds: number): Judgement {
  if (answer.status !== 200) {
    if (answer.status >= 500 || answer.status === 429) {
      return { kind: 'unavailable', reason: answer.status === 429 ? 'validator_throttled' : 'validator_server_error' };
    }
    return { kind: 'invalid', reason: 'validator_rejected' };
  }

  const read = readJsonBody(answer);
  if (read === UNREADABLE) return { kind: 'unavailable', reason: 'validator_bad_answer' };
  const claims = isObject(read.value) ? read.value : undefined;
  const active = claims === undefined ? undefined : Object.hasOwn(claims, 'active') ? claims.active : undefined;
  const hasActive = claims !== undefined && Object.hasOwn(claims, 'active');

  if (options.style === 'rfc7662' && active !== true) return { kind: 'invalid', reason: hasActive ? 'token_inactive' : 'not_an_introspection_answer' };
  if (options.requireActive === 'true' && active !== true) return { kind: 'invalid', reason: 'token_inactive' };
  if (options.requireActive === 'auto' && hasActive && active !== true) return { kind: 'invalid', reason: 'token_inactive' };

  const exp = numericDate(claims?.exp);
  const nbf = numericDate(claims?.nbf);
  if (exp === null || nbf === null) return { kind: 'invalid', reason: 'token_claims_malformed' };
  // RFC 7519 §4.1.4/§4.1.5 with a leeway for clock skew.
  if (exp !== undefined && exp + options.clockSkewSeconds <= nowSeconds) return { kind: 'invalid', reason: 'token_expired' };
  if (nbf !== undefined && nbf - options.clockSkewSeconds > nowSeconds) return { kind: 'invalid', reason: 'token_not_yet_valid' };

  return {
    kind: 'valid',
    claims: read.value,
    claimsText: claims === undefined ? '' : read.text,
    exp,
    active: typeof active === 'boolean' ? active : undefined,
    scopes: scopesOf(claims),
  };
}

const UNREADABLE = Symbol('unreadable');
const NOT_JSON = Object.freeze({ value: undefined, text: '' });

/** Media types that promise JSON (RFC 8259 §11, RFC 6839 §3.1 `+json`, and the legacy text/json). */
export function isJsonMediaType(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType === 'text/json' || mediaType.endsWith('+json');
}

/**
 * The body read as JSON when it is JSON: a UTF-8 byte-order mark is dropped (RFC 8259 §8.1 lets a
 * parser ignore it), and a body is tried whenever it looks like a JSON object or array, whatever its
 * label. A body that promised or looked like JSON and is not is a broken validator (unavailable); any
 * other body is a 200 without user info.
 */
function readJsonBody(answer: ValidatorAnswer): { readonly value: unknown; readonly text: string } | typeof UNREADABLE {
  const body = answer.body;
  if (body === null || body.length === 0) return NOT_JSON;
  const start = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  let first = start;
  while (first < body.length && (body[first] === 0x20 || body[first] === 0x09 || body[first] === 0x0a || body[first] === 0x0d)) first++;
  const looksLikeJson = body[first] === 0x7b /* { */ || body[first] === 0x5b; /* [ */
  const declared = isJsonMediaType(answer.mediaType);
  if (!looksLikeJson && !declared) return NOT_JSON;
  try {
    const value = JSON.parse(body.toString('utf8', start)) as unknown;
    return { value, text: body.toString('latin1', start) };
  } catch {
    return UNREADABLE;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** RFC 7519 §2 NumericDate; `undefined` when absent, `null` when present but not a date. */
function numericDate(value: unknown): number | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) return Number(value);
  return null;
}

/** RFC 7662 §2.2 `scope`: space-separated; some servers send a JSON array (or `scp`) instead. */
function scopesOf(claims: Record<string, unknown> | undefined): readonly string[] {
  const scope = claims?.scope ?? claims?.scp;
  if (typeof scope === 'string') return scope.split(' ').filter((s) => s !== '');
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === 'string');
  return NO_SCOPES;
}

const NO_SCOPES: readonly string[] = Object.freeze([]);
