/**
 * What the decision core answers about one request: allow (with the validator's result, or none
 * when no token was needed), deny or error (with the reason and the answer prepared for it). The
 * core writes it into a slot the face owns, so that a cache hit allocates nothing; faces read it
 * through the `Decision` union, which narrows on `outcome`.
 *
 * Beside the verdict, the slot records how it was reached (validator, token key, where the result
 * came from) for the access line and metrics.
 */
import type { TokenResult } from '../cache/token-result.js';
import type { ValidatorConfig } from '../config/compile.js';
import type { PreparedResponse } from '../http/errors.js';
import type { TokenSource } from './extract-token.js';
import type { Outcome, Reason } from './reasons.js';

/**
 * Where a request's result came from: memory (hit), a new validator call (miss), a call already
 * in flight (joined), Redis (redis), a stale result while the validator was down (stale), or a
 * call of its own with caching off (off).
 */
export type CacheOutcome = 'hit' | 'miss' | 'joined' | 'redis' | 'stale' | 'off';

interface Trace {
  /** The validator chosen for the token; `null` before one was. */
  readonly validator: ValidatorConfig | null;
  /** The token's cache key (SHA-256, see cache/key.ts); logs show its fingerprint. */
  readonly tokenKey: string | null;
  readonly tokenSource: TokenSource | null;
  readonly cache: CacheOutcome | null;
}

export interface Allowed extends Trace {
  readonly outcome: 'allow';
  readonly reason: null;
  readonly response: null;
  /** The validator's result behind the allow; `null` when the policy needed no token. */
  readonly result: TokenResult | null;
}

export interface Refused extends Trace {
  readonly outcome: 'deny' | 'error';
  readonly reason: Reason;
  readonly response: PreparedResponse;
  readonly result: null;
}

export type Decision = Allowed | Refused;

/** The writable slot behind a `Decision`; only the core writes it. */
export class DecisionSlot {
  outcome: Outcome = 'allow';
  reason: Reason | null = null;
  response: PreparedResponse | null = null;
  result: TokenResult | null = null;
  validator: ValidatorConfig | null = null;
  tokenKey: string | null = null;
  tokenSource: TokenSource | null = null;
  cache: CacheOutcome | null = null;

  allow(result: TokenResult | null): Decision {
    this.outcome = 'allow';
    this.reason = null;
    this.response = null;
    this.result = result;
    return this as Decision;
  }

  refuse(outcome: 'deny' | 'error', reason: Reason, response: PreparedResponse): Decision {
    this.outcome = outcome;
    this.reason = reason;
    this.response = response;
    this.result = null;
    return this as Decision;
  }

  get decision(): Decision {
    return this as Decision;
  }
}
