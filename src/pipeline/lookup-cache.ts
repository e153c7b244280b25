/**
 * Stage 3, cache: a usable cached result is returned at once (no promise, no allocation); on a
 * miss, concurrent requests for the same token share one validator call (single flight) and the
 * result is stored before anyone sees it. With caching off there is nothing to share.
 */
import type { Logger } from 'pino';
import { clockNow, type TokenResult } from '../cache/token-result.js';
import { fingerprintOf } from '../cache/key.js';
import type { ValidatorState } from '../validators/state.js';
import { validate } from './validate.js';

/** How a request's result was found: cached, first caller of a new call, joined a pending call, or cache off. */
export type CacheOutcome = 'hit' | 'miss' | 'shared' | 'off';

export interface CacheLookup {
  cache: CacheOutcome | null;
}

export function lookupResult(state: ValidatorState, key: string, token: string, now: number, log: Logger, into: CacheLookup): TokenResult | Promise<TokenResult> {
  const cache = state.cache;
  // Caching off means every request is judged by a call of its own, made after it arrived.
  if (cache === null) {
    into.cache = 'off';
    return validate(state, token, fingerprintOf(key), log);
  }
  const cached = cache.get(key, now);
  if (cached !== undefined) {
    into.cache = 'hit';
    return cached;
  }
  const pending = state.inflight.get(key);
  if (pending !== undefined) {
    into.cache = 'shared';
    return pending;
  }
  into.cache = 'miss';
  return state.inflight.run(key, async () => {
    const result = await validate(state, token, fingerprintOf(key), log);
    cache.set(key, result, clockNow());
    return result;
  });
}
