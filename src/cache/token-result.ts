/**
 * What the gateway remembers about a token: the verdict, until when it may be reused, the scopes
 * granted, and the identity header values already rendered for every route that can use it.
 * Neither the raw token nor the validator's raw body is kept.
 *
 * A result is one flat one-byte string, because a million cached results must fit in 300 MB
 * (bench/memory.ts) and a JS object with an array of strings costs twice that:
 *
 *   [0]      denial: 0 for a valid token, else 1 + its index in DENIALS
 *   [1..6]   expiresAt, 48-bit big-endian, on the `clockNow()` scale: fresh until then
 *   [7..12]  staleUntil, the same way: usable while the validator is down (`onUnavailable:
 *            stale`) until then; equal to expiresAt otherwise
 *   [13..]   scope (space-separated), then "\n" + each identity value in turn, MISSING for a
 *            value whose path matched nothing
 *
 * The portable form (for the shared Redis cache) is the same with both times in epoch ms, since
 * every process has its own clock origin.
 *
 * "\n" and MISSING can occur in neither part: identity values with control characters are never
 * rendered (identity/plan.ts) and scope tokens are kept only when they are RFC 6749 scope tokens.
 * Values are byte strings already (UTF-8 bytes one per char, or percent-encoded ASCII).
 */
import type { InvalidReason, UnavailableReason } from '../validators/judge.js';

export type Denial = InvalidReason | UnavailableReason;

declare const tokenResult: unique symbol;
export type TokenResult = string & { readonly [tokenResult]: true };

const DENIALS: readonly Denial[] = [
  'validator_rejected', 'token_inactive', 'token_expired', 'token_not_yet_valid', 'token_claims_malformed',
  'validator_timeout', 'validator_unreachable', 'validator_server_error', 'validator_throttled', 'validator_bad_answer',
  'validator_circuit_open', 'validator_overloaded',
];
const UNAVAILABLE: ReadonlySet<Denial> = new Set<Denial>(DENIALS.slice(5));
const SEPARATOR = '\n';
const MISSING = '\x01';
const HEAD = 13;
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** The validator could not say (never cached), as opposed to a token it judged. */
export function isUnavailable(denial: Denial | null): boolean {
  return denial !== null && UNAVAILABLE.has(denial);
}

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

export function encodeResult(denial: Denial | null, expiresAt: number, staleUntil: number, scopes: readonly string[], identity: readonly (string | undefined)[]): TokenResult {
  const parts = [String.fromCharCode(denial === null ? 0 : 1 + DENIALS.indexOf(denial)), time48(expiresAt), time48(Math.max(expiresAt, staleUntil)), scopes.filter((s) => SCOPE_TOKEN.test(s)).join(' ')];
  for (const value of identity) parts.push(SEPARATOR, value ?? MISSING);
  return flat(parts);
}

/** join() builds one flat string; `+` would build a rope that keeps every piece alive in the cache. */
function flat(parts: string[]): TokenResult {
  return parts.join('') as TokenResult;
}

export function denialOf(result: TokenResult): Denial | null {
  const code = result.charCodeAt(0);
  return code === 0 ? null : DENIALS[code - 1]!;
}

export function expiresAtOf(result: TokenResult): number {
  return readTime48(result, 1);
}

export function staleUntilOf(result: TokenResult): number {
  return readTime48(result, 7);
}

/** The result with epoch times, to share with other processes. */
export function toPortable(result: TokenResult): string {
  return result[0] + time48(expiresAtOf(result) + CLOCK_ORIGIN) + time48(staleUntilOf(result) + CLOCK_ORIGIN) + result.slice(HEAD);
}

/** A portable result on this process's clock; `null` when it is not one. */
export function fromPortable(text: string): TokenResult | null {
  if (text.length < HEAD || text.charCodeAt(0) > DENIALS.length) return null;
  return flat([text[0]!, time48(readTime48(text, 1) - CLOCK_ORIGIN), time48(readTime48(text, 7) - CLOCK_ORIGIN), text.slice(HEAD)]);
}

function scopeEnd(result: TokenResult): number {
  const end = result.indexOf(SEPARATOR, HEAD);
  return end === -1 ? result.length : end;
}

/** Does the result's scope hold every one of `required`? Searched in place, without splitting. */
export function hasScopes(result: TokenResult, required: readonly string[]): boolean {
  const end = scopeEnd(result);
  for (let r = 0; r < required.length; r++) {
    const scope = required[r]!;
    let found = false;
    for (let at = result.indexOf(scope, HEAD); at !== -1 && at + scope.length <= end; at = result.indexOf(scope, at + 1)) {
      const before = at === HEAD || result.charCodeAt(at - 1) === 32;
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

/**
 * Appends `names[i], value` for the `names.length` identity values that start at `offset`, skipping
 * missing ones.
 */
export function appendIdentityValues(headers: string[], result: TokenResult, offset: number, names: readonly { readonly name: string }[]): void {
  let start = scopeEnd(result);
  for (let skip = 0; skip < offset && start !== -1; skip++) start = result.indexOf(SEPARATOR, start + 1);
  for (let i = 0; i < names.length && start !== -1 && start < result.length; i++) {
    const next = result.indexOf(SEPARATOR, start + 1);
    const value = next === -1 ? result.slice(start + 1) : result.slice(start + 1, next);
    if (value !== MISSING) headers.push(names[i]!.name, value);
    start = next;
  }
}
