/**
 * SPEC section 6: the cache key is a SHA-256 of validator name + token, so the raw token is never
 * stored; logs carry the first 8 hex digits of the same digest as the token's fingerprint.
 *
 * The key is the digest itself as a 32-character one-byte string: one-shot `crypto.hash` with
 * latin1 output costs about a seventh of createHash().update().digest() and the densest key.
 */
import { hash } from 'node:crypto';

/** The 32-byte SHA-256 of `<validator>\0<token>`, one char per byte (the NUL keeps ("ab","c") and ("a","bc") apart). */
export function tokenKey(validatorName: string, token: string): string {
  return hash('sha256', `${validatorName}\0${token}`, 'binary'); // 'binary' is Node's name for latin1
}

const HEX_BYTE = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** 8 hex digits of a key, for log lines. */
export function fingerprintOf(key: string): string {
  return HEX_BYTE[key.charCodeAt(0)] + HEX_BYTE[key.charCodeAt(1)] + HEX_BYTE[key.charCodeAt(2)] + HEX_BYTE[key.charCodeAt(3)];
}
