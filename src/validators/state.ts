/** What the gateway keeps per validator while it runs: its pool, its cache, its pending calls, its breaker. */
import type { Pool } from 'undici';
import type { GatewayConfig, ValidatorConfig } from '../config/compile.js';
import { ResultCache } from '../cache/memory.js';
import { SingleFlight } from '../cache/single-flight.js';
import { CircuitBreaker } from './breaker.js';
import type { Verdict } from '../pipeline/validate.js';
import { createValidatorPool } from './call.js';

export interface ValidatorState {
  readonly config: ValidatorConfig;
  readonly pool: Pool;
  /** `null` when caching is off for this validator. */
  readonly cache: ResultCache | null;
  readonly inflight: SingleFlight<Verdict>;
  readonly breaker: CircuitBreaker;
  /** Calls waiting on the validator now (bounded by `maxConcurrentCalls`). */
  active: number;
  /** Calls made to the validator so far. */
  calls: number;
}

export function createValidatorStates(config: GatewayConfig): ReadonlyMap<ValidatorConfig, ValidatorState> {
  const states = new Map<ValidatorConfig, ValidatorState>();
  for (const validator of config.validators.values()) {
    const caching = validator.cache.ttlSeconds > 0 || validator.cache.negativeTtlSeconds > 0;
    states.set(validator, {
      config: validator,
      pool: createValidatorPool(validator),
      cache: caching ? new ResultCache(validator.cache.maxEntries) : null,
      inflight: new SingleFlight<Verdict>(),
      breaker: new CircuitBreaker(validator.circuitBreaker.failures, validator.circuitBreaker.cooldownSeconds * 1000),
      active: 0,
      calls: 0,
    });
  }
  return states;
}

export async function closeValidatorStates(states: ReadonlyMap<ValidatorConfig, ValidatorState>): Promise<void> {
  await Promise.all([...states.values()].map((state) => state.pool.close()));
}
