/**
 * What the gateway keeps per validator while it runs: its way out (a Dispatcher: a keep-alive pool,
 * or the proxy agent; and the verifier of signed answers), its cache, its pending calls, its breaker.
 */
import type { GatewayConfig, ValidatorConfig } from '../config/compile.js';
import { ResultCache } from '../cache/memory.js';
import { SingleFlight } from '../cache/single-flight.js';
import { CircuitBreaker } from './breaker.js';
import type { Verdict } from '../pipeline/validate.js';
import { createValidatorOutbound, type ValidatorOutbound } from './call.js';

export interface ValidatorState {
  readonly config: ValidatorConfig;
  /** Made per configuration (a reload makes new ones: proxy and TLS settings may have changed). */
  readonly outbound: ValidatorOutbound;
  /** `null` when caching is off for this validator. */
  readonly cache: ResultCache | null;
  readonly inflight: SingleFlight<Verdict>;
  readonly breaker: CircuitBreaker;
  /** Calls waiting on the validator now (bounded by `maxConcurrentCalls`). */
  active: number;
  /** Calls made to the validator so far. */
  calls: number;
}

/**
 * The state of every validator of `config`. A reload keeps a validator's cache when its results
 * would read the same (the same result digest: the same call, rules and identity plans) and its
 * bounds are unchanged; any other change starts that validator's cache empty.
 */
export function createValidatorStates(config: GatewayConfig, previous?: ReadonlyMap<ValidatorConfig, ValidatorState>): ReadonlyMap<ValidatorConfig, ValidatorState> {
  const kept = new Map<string, ValidatorState>();
  for (const state of previous?.values() ?? []) kept.set(state.config.name, state);
  const states = new Map<ValidatorConfig, ValidatorState>();
  for (const validator of config.validators.values()) {
    const caching = validator.cache.ttlSeconds > 0 || validator.cache.negativeTtlSeconds > 0;
    const before = kept.get(validator.name);
    const reusable = before?.cache != null && before.config.resultDigest === validator.resultDigest && sameBounds(before.config, validator);
    states.set(validator, {
      config: validator,
      outbound: createValidatorOutbound(validator),
      cache: !caching ? null : reusable ? before.cache : new ResultCache(validator.cache.maxEntries, validator.cache.maxBytes),
      inflight: new SingleFlight<Verdict>(),
      breaker: new CircuitBreaker(validator.circuitBreaker.failures, validator.circuitBreaker.cooldownSeconds * 1000),
      active: 0,
      calls: 0,
    });
  }
  return states;
}

function sameBounds(a: ValidatorConfig, b: ValidatorConfig): boolean {
  return a.cache.maxEntries === b.cache.maxEntries && a.cache.maxBytes === b.cache.maxBytes && a.cache.ttlSeconds === b.cache.ttlSeconds && a.cache.negativeTtlSeconds === b.cache.negativeTtlSeconds && a.onUnavailable === b.onUnavailable && a.staleIfErrorSeconds === b.staleIfErrorSeconds;
}

export async function closeValidatorStates(states: ReadonlyMap<ValidatorConfig, ValidatorState>): Promise<void> {
  await Promise.all([...states.values()].map((state) => state.outbound.close()));
}
