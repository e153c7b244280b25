/**
 * Stage 3, cache: a usable cached result is returned at once (no promise; one copy of its bytes); on a
 * miss, concurrent requests for the same token share one validator call (single flight) and the
 * result is stored before anyone sees it: in memory, and in Redis when there is one. With caching
 * off there is nothing to share.
 */
import { fingerprintOf } from '../cache/key.js';
import type { ResultCache } from '../cache/memory.js';
import { clockNow, denialOf, expiresAtOf, staleUntilOf } from '../cache/token-result.js';
import type { ValidatorState } from '../validators/state.js';
import type { DecisionSlot } from './decision.js';
import type { Core } from './index.js';
import { UNJUDGED, validate, type Verdict } from './validate.js';

export type { Verdict } from './validate.js';

/**
 * `client`: whose budget a miss is charged to (client-budget.ts); `null` charges none. A client
 * over its invalid-token rate, or its budget of calls, is refused before any call is made.
 */
export function lookupResult(core: Core, state: ValidatorState, key: string, token: string, now: number, slot: DecisionSlot, client: string | null): Verdict | Promise<Verdict> {
  const cache = state.cache;
  if (cache !== null) {
    const cached = cache.get(key, now);
    if (cached !== undefined) {
      slot.cache = 'hit';
      core.metrics.cache('memory_hit');
      return cached;
    }
  }
  if (client !== null && core.clients.overInvalidRate(client, Date.now())) return UNJUDGED.invalid_token_rate_exceeded;
  // Caching off means every request is judged by a call of its own, made after it arrived.
  if (cache === null) {
    slot.cache = 'off';
    return charged(core, client, () => validate(core, state, token, fingerprintOf(key), client));
  }
  const pending = state.inflight.get(key);
  if (pending !== undefined) {
    slot.cache = 'joined';
    core.metrics.cache('joined');
    return pending;
  }
  slot.cache = 'miss';
  core.metrics.cache('memory_miss');
  return charged(core, client, () => state.inflight.run(key, () => fetchResult(core, state, cache, key, token, slot, client)));
}

/** Runs `call` on `client`'s budget, or refuses it (429) when the budget is spent. */
function charged(core: Core, client: string | null, call: () => Promise<Verdict>): Verdict | Promise<Verdict> {
  if (client === null) return call();
  const now = Date.now();
  if (!core.clients.admitCall(client, now)) {
    if (core.clients.shouldWarn(now)) {
      core.log.warn({ client, limits: core.config.server.clientLimits }, 'a client spent its budget of validator calls (429); if many users reach the gateway through one proxy or load balancer, set server.trustedProxies to its address');
    }
    return UNJUDGED.client_validation_budget_exceeded;
  }
  return call().finally(() => core.clients.release(client));
}

/** A miss: the shared cache first, then the validator; a stale result when it is down and that is allowed. */
async function fetchResult(core: Core, state: ValidatorState, cache: ResultCache, key: string, token: string, slot: DecisionSlot, client: string | null): Promise<Verdict> {
  const validator = state.config;
  if (core.shared !== null) {
    const shared = await core.shared.get(validator, token);
    if (shared !== null && expiresAtOf(shared) > clockNow()) {
      cache.set(key, shared, clockNow());
      slot.cache = 'redis';
      return shared;
    }
  }
  const verdict = await validate(core, state, token, fingerprintOf(key), client);
  const now = clockNow();
  if (typeof verdict !== 'string') {
    const stale = validator.onUnavailable === 'stale' ? cache.getStale(key, now) : undefined;
    if (stale === undefined || denialOf(stale) !== null) return verdict;
    slot.cache = 'stale';
    core.metrics.cache('stale');
    return stale;
  }
  // A token revoked while this call was in flight is stored neither here nor in Redis.
  if (cache.set(key, verdict, now)) core.shared?.set(validator, token, verdict, staleUntilOf(verdict) - now);
  return verdict;
}
