/**
 * SPEC section 6: the cache key is a SHA-256 of validator name + token, so the raw token is never
 * stored; logs carry the first 8 hex digits of the same digest as the token's fingerprint.
 */
import { createHash } from 'node:crypto';

export interface TokenKey {
  /** base64 SHA-256 of `<validator>\0<token>`: the cache and single-flight key. */
  readonly key: string;
  /** 8 hex digits, for log lines. */
  readonly fingerprint: string;
}

export function tokenKey(validatorName: string, token: string): TokenKey {
  // The NUL separator keeps ("ab", "c") and ("a", "bc") apart; neither part can contain NUL.
  const digest = createHash('sha256').update(validatorName).update('\0').update(token).digest();
  return { key: digest.toString('base64'), fingerprint: digest.toString('hex', 0, 4) };
}
