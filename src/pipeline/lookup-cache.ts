/**
 * Stage 3, cache: a usable cached result is returned at once (no promise, no allocation); on a
 * miss, concurrent requests for the same token share one validator call (single flight) and the
 * result is stored before anyone sees it: in memory, and in Redis when there is one. With caching
 * off there is nothing to share.
 */
import { fingerprintOf } from '../cache/key.js';
import type { ResultCache } from '../cache/memory.js';
import { clockNow, denialOf, expiresAtOf, isUnavailable, staleUntilOf, type TokenResult } from '../cache/token-result.js';
import type { ValidatorState } from '../validators/state.js';
import type { Core } from './index.js';
import { validate } from './validate.js';

/**
 * How a request's result was found: in memory (hit), by a new validator call (miss), by joining a
 * call in flight (joined), in Redis (redis), stale while the validator was down (stale), or with
 * caching off (off).
 */
export type CacheOutcome = 'hit' | 'miss' | 'joined' | 'redis' | 'stale' | 'off';

export interface CacheLookup {
  cache: CacheOutcome | null;
}

export function lookupResult(core: Core, state: ValidatorState, key: string, token: string, now: number, into: CacheLookup): TokenResult | Promise<TokenResult> {
  const cache = state.cache;
  // Caching off means every request is judged by a call of its own, made after it arrived.
  if (cache === null) {
    into.cache = 'off';
    return validate(core, state, token, fingerprintOf(key));
  }
  const cached = cache.get(key, now);
  if (cached !== undefined) {
    into.cache = 'hit';
    core.metrics.cache('memory_hit');
    return cached;
  }
  const pending = state.inflight.get(key);
  if (pending !== undefined) {
    into.cache = 'joined';
    core.metrics.cache('joined');
    return pending;
  }
  into.cache = 'miss';
  core.metrics.cache('memory_miss');
  return state.inflight.run(key, () => fetchResult(core, state, cache, key, token, into));
}

/** A miss: the shared cache first, then the validator; a stale result when it is down and that is allowed. */
async function fetchResult(core: Core, state: ValidatorState, cache: ResultCache, key: string, token: string, into: CacheLookup): Promise<TokenResult> {
  const name = state.config.name;
  if (core.shared !== null) {
    const shared = await core.shared.get(name, token);
    if (shared !== null && expiresAtOf(shared) > clockNow()) {
      cache.set(key, shared, clockNow());
      into.cache = 'redis';
      return shared;
    }
  }
  const result = await validate(core, state, token, fingerprintOf(key));
  const now = clockNow();
  if (isUnavailable(denialOf(result))) {
    const stale = state.config.onUnavailable === 'stale' ? cache.getStale(key, now) : undefined;
    if (stale === undefined || denialOf(stale) !== null) return result;
    into.cache = 'stale';
    core.metrics.cache('stale');
    return stale;
  }
  // A token revoked while this call was in flight is stored neither here nor in Redis.
  if (cache.set(key, result, now)) core.shared?.set(name, token, result, staleUntilOf(result) - now);
  return result;
}
