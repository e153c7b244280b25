/**
 * What the gateway remembers about a token: the verdict, until when it may be reused, the scopes
 * granted, and the identity headers already rendered for every route plan that can use it. Neither
 * the raw token nor the validator's raw body is kept.
 */
import type { InvalidReason, UnavailableReason } from '../validators/judge.js';

export interface TokenResult {
  readonly status: 'valid' | 'invalid' | 'unavailable';
  readonly reason: InvalidReason | UnavailableReason | null;
  /** Epoch ms after which this result must not be used: min(ttl, token exp) for a valid token. */
  readonly expiresAtMs: number;
  readonly scopes: ReadonlySet<string> | null;
  /** Rendered identity headers (`[name, value, …]`) by identity plan index. */
  readonly identity: readonly (readonly string[] | undefined)[];
}
