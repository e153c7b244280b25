/**
 * What the gateway remembers about a token: the verdict, until when it may be reused, the scopes
 * granted, the identity header values already rendered for every route that can use it, and (only
 * when a face needs it) the validator's 200 body. Never the raw token.
 *
 * A result is one flat one-byte string, because a million cached results must stay small
 * (bench/memory.mjs) and a JS object with an array of strings costs twice as much:
 *
 *   [0]       0 for a valid token, else the stored code of the judged reason (pipeline/reasons.ts)
 *   [1..6]    expiresAt, 48-bit big-endian, on the `clockNow()` scale: fresh until then
 *   [7..12]   staleUntil, the same way: usable while the validator is down (`onUnavailable:
 *             stale`) until then; equal to expiresAt otherwise
 *   [13..15]  the claims' length L (24-bit); 0 when they are not kept
 *   [16..16+L) the claims: the 200 body's UTF-8 bytes, one char per byte
 *   then      scope (space-separated scope tokens), then "\n" + each identity value in turn,
 *             MISSING for a value whose path matched nothing
 *
 * A result in memory belongs to the cache of one validator configuration (runtime.ts keeps a cache
 * across reloads only when the validator's result digest is unchanged). The portable form, shared
 * through Redis, is self-describing: a format tag and the writer's result digest come first and
 * both times are epoch ms (every process has its own clock origin); a reader with another digest,
 * another format or an unknown reason code treats it as a miss, never as a result.
 *
 * "\n" and MISSING can occur in neither scope nor values: identity values with control characters
 * are never rendered (identity/plan.ts) and scope tokens are kept only when they are RFC 6749 scope
 * tokens. Values are byte strings already (UTF-8 bytes one per char, or percent-encoded ASCII).
 */
import { SCOPE_TOKEN } from '../http/syntax.js';
import { reasonOfStoredCode, storedCodeOf, type StoredReason } from '../pipeline/reasons.js';

declare const tokenResult: unique symbol;
export type TokenResult = string & { readonly [tokenResult]: true };

/** Bumped whenever the layout of a cached result changes: every older portable result is then a miss. */
export const RESULT_FORMAT = 2;
const SEPARATOR = '\n';
const MISSING = '\x01';
const CLAIMS_AT = 16;
/** The most of a 200 body a result keeps as claims; a larger one is served once and not cached. */
export const MAX_KEPT_CLAIMS_BYTES = 64 * 1024;
const PORTABLE_TAG = `tg${String.fromCharCode(RESULT_FORMAT)}`;
const DIGEST_BYTES = 8;
const PORTABLE_HEAD = PORTABLE_TAG.length + DIGEST_BYTES;

// Milliseconds since this process started.
const CLOCK_ORIGIN = Date.now();

/** Now, on the clock `expiresAt` uses. */
export function clockNow(): number {
  return Date.now() - CLOCK_ORIGIN;
}

/** An epoch time in ms on the clock `expiresAt` uses. */
export function clockAt(epochMs: number): number {
  return epochMs - CLOCK_ORIGIN;
}

function time48(ms: number): string {
  let at = Math.max(0, Math.floor(ms));
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = String.fromCharCode(at % 256) + out;
    at = Math.floor(at / 256);
  }
  return out;
}

function readTime48(text: string, from: number): number {
  let at = 0;
  for (let i = from; i < from + 6; i++) at = at * 256 + text.charCodeAt(i);
  return at;
}

function length24(length: number): string {
  return String.fromCharCode((length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
}

export interface ResultParts {
  /** `null`: valid. */
  readonly denial: StoredReason | null;
  readonly expiresAt: number;
  readonly staleUntil: number;
  readonly scopes: readonly string[];
  readonly identity: readonly (string | undefined)[];
  /** The 200 body as a byte string, or '' when not kept. */
  readonly claims: string;
}

export function encodeResult(parts: ResultParts): TokenResult {
  const code = parts.denial === null ? 0 : storedCodeOf(parts.denial);
  const claims = parts.claims.length > MAX_KEPT_CLAIMS_BYTES ? '' : parts.claims;
  const pieces = [
    String.fromCharCode(code),
    time48(parts.expiresAt),
    time48(Math.max(parts.expiresAt, parts.staleUntil)),
    length24(claims.length),
    claims,
    parts.scopes.filter((s) => SCOPE_TOKEN.test(s)).join(' '),
  ];
  for (const value of parts.identity) pieces.push(SEPARATOR, value ?? MISSING);
  return flat(pieces);
}

/** join() builds one flat string; `+` would build a rope that keeps every piece alive in the cache. */
function flat(parts: string[]): TokenResult {
  return parts.join('') as TokenResult;
}

/** The judged reason of a result; `null` for a valid token. */
export function denialOf(result: TokenResult): StoredReason | null {
  const code = result.charCodeAt(0);
  return code === 0 ? null : reasonOfStoredCode(code)!;
}

export function expiresAtOf(result: TokenResult): number {
  return readTime48(result, 1);
}

export function staleUntilOf(result: TokenResult): number {
  return readTime48(result, 7);
}

function claimsLength(result: TokenResult): number {
  return (result.charCodeAt(13) << 16) | (result.charCodeAt(14) << 8) | result.charCodeAt(15);
}

/** The kept 200 body as a byte string (UTF-8 bytes one char per byte); '' when not kept. */
export function claimsOf(result: TokenResult): string {
  const length = claimsLength(result);
  return length === 0 ? '' : result.slice(CLAIMS_AT, CLAIMS_AT + length);
}

function scopeStart(result: TokenResult): number {
  return CLAIMS_AT + claimsLength(result);
}

/** The result with epoch times, tagged with the format and the writer's digest, to share with other processes. */
export function toPortable(result: TokenResult, digest: string): string {
  return PORTABLE_TAG + digest + result[0] + time48(expiresAtOf(result) + CLOCK_ORIGIN) + time48(staleUntilOf(result) + CLOCK_ORIGIN) + result.slice(13);
}

/** A portable result on this process's clock; `null` when it was not written for `digest` in this format. */
export function fromPortable(text: string, digest: string): TokenResult | null {
  if (text.length < PORTABLE_HEAD + CLAIMS_AT || !text.startsWith(PORTABLE_TAG) || text.slice(PORTABLE_TAG.length, PORTABLE_HEAD) !== digest) return null;
  const body = text.slice(PORTABLE_HEAD);
  const code = body.charCodeAt(0);
  if (code !== 0 && reasonOfStoredCode(code) === undefined) return null;
  const result = flat([body[0], time48(readTime48(body, 1) - CLOCK_ORIGIN), time48(readTime48(body, 7) - CLOCK_ORIGIN), body.slice(13)]);
  return scopeStart(result) <= result.length ? result : null;
}

function scopeEnd(result: TokenResult, from: number): number {
  const end = result.indexOf(SEPARATOR, from);
  return end === -1 ? result.length : end;
}

/** Does the result's scope hold every one of `required`? Searched in place, without splitting. */
export function hasScopes(result: TokenResult, required: readonly string[]): boolean {
  const start = scopeStart(result);
  const end = scopeEnd(result, start);
  for (let r = 0; r < required.length; r++) {
    const scope = required[r];
    let found = false;
    for (let at = result.indexOf(scope, start); at !== -1 && at + scope.length <= end; at = result.indexOf(scope, at + 1)) {
      const before = at === start || result.charCodeAt(at - 1) === 32;
      const after = at + scope.length === end || result.charCodeAt(at + scope.length) === 32;
      if (before && after) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

/** The granted scopes, split (for the library's decision and `probe`, not the proxy's hot path). */
export function scopesOf(result: TokenResult): string[] {
  const start = scopeStart(result);
  const scope = result.slice(start, scopeEnd(result, start));
  return scope === '' ? [] : scope.split(' ');
}

/**
 * Appends `names[i], value` for the `names.length` identity values that start at `offset`, skipping
 * missing ones.
 */
export function appendIdentityValues(headers: string[], result: TokenResult, offset: number, names: readonly { readonly name: string }[]): void {
  let start = scopeEnd(result, scopeStart(result));
  for (let skip = 0; skip < offset && start !== -1; skip++) start = result.indexOf(SEPARATOR, start + 1);
  for (let i = 0; i < names.length && start !== -1 && start < result.length; i++) {
    const next = result.indexOf(SEPARATOR, start + 1);
    const value = next === -1 ? result.slice(start + 1) : result.slice(start + 1, next);
    if (value !== MISSING) headers.push(names[i].name, value);
    start = next;
  }
}
