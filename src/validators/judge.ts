/**
 * Judging the validator's answer: a pure function of status, content type, body and the clock.
 *
 * The seed's rules first: 200 OK is a successful validation, any other status a failed one.
 * SPEC section 1 adds, for RFC 7662 servers that answer 200 `{"active": false}` for a dead token:
 * with `requireActive: auto` a 200 JSON object with an `active` member is valid only when it is the
 * boolean `true`; an `exp` in the past or an `nbf` in the future (beyond the skew) is invalid.
 * 5xx, 429 and a body that cannot be read are the validator's trouble, not the token's: they make
 * the result "unavailable", which is never cached.
 */
import type { RequireActive } from '../config/compile.js';

export type InvalidReason =
  | 'validator_rejected'
  | 'token_inactive'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_claims_malformed';

export type UnavailableReason =
  | 'validator_timeout'
  | 'validator_unreachable'
  | 'validator_server_error'
  | 'validator_throttled'
  | 'validator_bad_answer'
  /** The circuit breaker is open: recent calls failed, none is made for a while. */
  | 'validator_circuit_open'
  /** `maxConcurrentCalls` calls are already waiting on this validator. */
  | 'validator_overloaded';

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
      /** RFC 7662 `exp`, seconds since the epoch. */
      readonly exp: number | undefined;
      readonly active: boolean | undefined;
      /** Granted scopes; empty when the answer has none. */
      readonly scopes: readonly string[];
    }
  | { readonly kind: 'invalid'; readonly reason: InvalidReason }
  | { readonly kind: 'unavailable'; readonly reason: UnavailableReason };

export interface JudgeOptions {
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

  const parsed = parseBody(answer);
  if (parsed === BAD_JSON) return { kind: 'unavailable', reason: 'validator_bad_answer' };
  const claims = isObject(parsed) ? parsed : undefined;

  const active = claims?.active;
  if (options.requireActive === 'true' && active !== true) return { kind: 'invalid', reason: 'token_inactive' };
  if (options.requireActive === 'auto' && claims !== undefined && 'active' in claims && active !== true) {
    return { kind: 'invalid', reason: 'token_inactive' };
  }

  const exp = numericDate(claims?.exp);
  const nbf = numericDate(claims?.nbf);
  if (exp === null || nbf === null) return { kind: 'invalid', reason: 'token_claims_malformed' };
  // RFC 7519 §4.1.4/§4.1.5 with a leeway for clock skew.
  if (exp !== undefined && exp + options.clockSkewSeconds <= nowSeconds) return { kind: 'invalid', reason: 'token_expired' };
  if (nbf !== undefined && nbf - options.clockSkewSeconds > nowSeconds) return { kind: 'invalid', reason: 'token_not_yet_valid' };

  return { kind: 'valid', claims: parsed, exp, active: typeof active === 'boolean' ? active : undefined, scopes: scopesOf(claims) };
}

const BAD_JSON = Symbol('bad JSON');

/**
 * JSON is read when the answer says it is JSON, or says nothing (the seed's sample has no content
 * type). A body that claims to be JSON and is not is a broken validator (unavailable); a body
 * without a type that is not JSON is simply a 200 without user info.
 */
function parseBody(answer: ValidatorAnswer): unknown {
  if (answer.body === null || answer.body.length === 0) return undefined;
  const declaredJson = answer.mediaType === 'application/json' || answer.mediaType.endsWith('+json');
  if (!declaredJson && answer.mediaType !== '') return undefined;
  try {
    return JSON.parse(answer.body.toString('utf8')) as unknown;
  } catch {
    return declaredJson ? BAD_JSON : undefined;
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
