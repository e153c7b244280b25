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
 *
 * SPEC 7.4: an XML answer (`format: xml`, or with `auto` one labelled `application/xml`, `text/xml`
 * or `+xml`, or one that starts with an XML declaration) is judged by the same rules on the claims
 * `xmlClaims` reads (an `active` element, when present, must read `true`; `exp`, `nbf`, `scope`,
 * `iss`, `aud`); it can never satisfy `style: rfc7662` (RFC 7662 §2.2: the answer is a JSON object).
 * A body that looks like JSON (`{` or `[`) is read as JSON whatever its label, since XML cannot
 * start that way. An XML answer that is refused by the safe reader (a DTD, an entity, not UTF-8,
 * malformed) or over {@link MAX_XML_ANSWER_BYTES} is the validator's trouble: unavailable.
 *
 * `requireIssuer` / `requireAudience` (SPEC 7.4): the answer's `iss` must equal the first, its `aud`
 * be the second or an array holding it; missing or different is invalid.
 */
import type { Document } from '@xmldom/xmldom';
import type { AnswerFormat, RequireActive } from '../config/compile.js';
import type { StoredReason, UnavailableReason } from '../pipeline/reasons.js';
import { parseXmlAnswer, xmlClaims } from './xml-answer.js';

/**
 * The most of an XML answer that is parsed. xmldom is about 50 times slower than JSON.parse
 * (measured: 64 KiB in ~13 ms, 256 KiB in ~55 ms, 1 MiB in ~230 ms, against ~6 ms for 1 MiB of
 * JSON), and an identity answer is a few hundred bytes: a larger XML answer is refused rather
 * than allowed to hold the event loop.
 */
export const MAX_XML_ANSWER_BYTES = 64 * 1024;

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
      /** The parsed 200 body when it was JSON, or the parsed XML answer (a Document), for identity headers. */
      readonly claims: unknown;
      /**
       * The 200 JSON object body's bytes without a byte-order mark (a view of the answer, not a
       * copy: it becomes a string only when a face keeps claims); `null` when not JSON (XML included).
       */
      readonly claimsBytes: Buffer | null;
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
  /** How the answer is read (SPEC 7.4); default `auto`. */
  readonly format?: AnswerFormat;
  /** The answer's `iss` must equal it; `null`/absent: not checked. */
  readonly requireIssuer?: string | null;
  /** The answer's `aud` must be it or an array holding it; `null`/absent: not checked. */
  readonly requireAudience?: string | null;
  /**
   * The answer came signed (RFC 9701) and its signer was verified to be `requireIssuer`: the
   * introspection claims may then leave `iss` out (a different one is still invalid).
   */
  readonly signedAnswers?: boolean;
}

export function judgeAnswer(answer: ValidatorAnswer, options: JudgeOptions, nowSeconds: number): Judgement {
  if (answer.status !== 200) {
    if (answer.status >= 500 || answer.status === 429) {
      return { kind: 'unavailable', reason: answer.status === 429 ? 'validator_throttled' : 'validator_server_error' };
    }
    return { kind: 'invalid', reason: 'validator_rejected' };
  }

  if (readsAsXml(answer, options.format ?? 'auto')) return judgeXml(answer.body!, options, nowSeconds);
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
  const mismatch = issuerAudienceMismatch(claims?.iss, claims?.aud, options);
  if (mismatch !== null) return { kind: 'invalid', reason: mismatch };

  return {
    kind: 'valid',
    claims: read.value,
    claimsBytes: claims === undefined ? null : read.bytes,
    exp,
    active: typeof active === 'boolean' ? active : undefined,
    scopes: scopesOf(claims),
  };
}

/**
 * The same rules on an XML answer's claims (texts): `active` must read `true` (when present, or
 * always with requireActive true), `exp` / `nbf` are NumericDates, `scope` space-separated.
 */
function judgeXml(body: Buffer, options: JudgeOptions, nowSeconds: number): Judgement {
  if (body.length > MAX_XML_ANSWER_BYTES) return { kind: 'unavailable', reason: 'validator_bad_answer' };
  const parsed = parseXmlAnswer(body);
  if (!parsed.ok) return { kind: 'unavailable', reason: 'validator_bad_answer' };
  return judgeXmlDocument(parsed.doc, options, nowSeconds);
}

function judgeXmlDocument(doc: Document, options: JudgeOptions, nowSeconds: number): Judgement {
  const claims = xmlClaims(doc);
  const hasActive = claims.active !== undefined;
  const activeTrue = claims.active === 'true';
  // RFC 7662 §2.2: an introspection answer is a JSON object; XML never satisfies style rfc7662.
  if (options.style === 'rfc7662') return { kind: 'invalid', reason: 'not_an_introspection_answer' };
  if (options.requireActive === 'true' && !activeTrue) return { kind: 'invalid', reason: 'token_inactive' };
  if (options.requireActive === 'auto' && hasActive && !activeTrue) return { kind: 'invalid', reason: 'token_inactive' };

  const exp = numericDate(claims.exp);
  const nbf = numericDate(claims.nbf);
  if (exp === null || nbf === null) return { kind: 'invalid', reason: 'token_claims_malformed' };
  if (exp !== undefined && exp + options.clockSkewSeconds <= nowSeconds) return { kind: 'invalid', reason: 'token_expired' };
  if (nbf !== undefined && nbf - options.clockSkewSeconds > nowSeconds) return { kind: 'invalid', reason: 'token_not_yet_valid' };
  const mismatch = issuerAudienceMismatch(claims.iss, claims.aud, options);
  if (mismatch !== null) return { kind: 'invalid', reason: mismatch };

  return {
    kind: 'valid',
    claims: doc,
    claimsBytes: null,
    exp,
    active: claims.active === 'true' ? true : claims.active === 'false' ? false : undefined,
    scopes: claims.scope === undefined ? NO_SCOPES : claims.scope.split(XML_SPACES).filter((s) => s !== ''),
  };
}

const XML_SPACES = /[\x20\t\r\n]+/;

/** SPEC 7.4 requireIssuer / requireAudience: which one the answer fails, or null. */
function issuerAudienceMismatch(iss: unknown, aud: unknown, options: JudgeOptions): 'token_issuer_mismatch' | 'token_audience_mismatch' | null {
  const issuer = options.requireIssuer;
  if (issuer != null && iss !== issuer && !(iss === undefined && options.signedAnswers === true)) return 'token_issuer_mismatch';
  const audience = options.requireAudience;
  if (audience != null && aud !== audience && !(Array.isArray(aud) && aud.includes(audience))) return 'token_audience_mismatch';
  return null;
}

/** XML media types (RFC 7303 §3: application/xml, text/xml, and the `+xml` suffix). */
export function isXmlMediaType(mediaType: string): boolean {
  return mediaType === 'application/xml' || mediaType === 'text/xml' || mediaType.endsWith('+xml');
}

/**
 * Is this 200 body read as XML? `xml`: always (when there is a body); `json`: never; `auto`: when
 * it does not look like JSON and is labelled XML or starts with an XML declaration.
 */
function readsAsXml(answer: ValidatorAnswer, format: AnswerFormat): boolean {
  const body = answer.body;
  if (format === 'json' || body === null || body.length === 0) return false;
  if (format === 'xml') return true;
  let first = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  while (first < body.length && (body[first] === 0x20 || body[first] === 0x09 || body[first] === 0x0a || body[first] === 0x0d)) first++;
  if (body[first] === 0x7b /* { */ || body[first] === 0x5b /* [ */) return false;
  return isXmlMediaType(answer.mediaType) || body.toString('latin1', first, first + 6) === '<?xml ';
}

const UNREADABLE = Symbol('unreadable');
const NOT_JSON = Object.freeze({ value: undefined, bytes: null });

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
function readJsonBody(answer: ValidatorAnswer): { readonly value: unknown; readonly bytes: Buffer | null } | typeof UNREADABLE {
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
    return { value, bytes: body.subarray(start) };
  } catch {
    return UNREADABLE;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** RFC 7519 §2 NumericDate (a number, or digits: XML claims are texts); `undefined` when absent, `null` when present but not a date. */
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
