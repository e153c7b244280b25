/**
 * The decision core, with the stage order written once:
 *
 *   route -> extract -> select validator -> cache (-> validate) -> decide -> identity
 *
 * and then a face acts on the decision: the proxy forwards, forward-auth and the seed's endpoint
 * answer. `authorize` returns synchronously on a cache hit and a promise only when it must wait.
 */
import type { Logger } from 'pino';
import type { SharedCache } from '../cache/redis.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { GatewayConfig, RouteConfig, ValidatorConfig } from '../config/compile.js';
import { tokenKey } from '../cache/key.js';
import { clockNow, type TokenResult } from '../cache/token-result.js';
import type { PreparedResponse } from '../http/errors.js';
import type { ValidatorState } from '../validators/state.js';
import { decide, outcomeOf, responseFor, type Outcome, type Reason } from './decide.js';
import { extractToken, type CredentialsView, type TokenSource } from './extract-token.js';
import { lookupResult, type CacheLookup } from './lookup-cache.js';
import { selectValidator, type HeaderSource } from './select-validator.js';

export { matchRoute, parseTarget, isNormalPath } from './match-route.js';

export interface Core {
  readonly config: GatewayConfig;
  readonly validators: ReadonlyMap<ValidatorConfig, ValidatorState>;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  /** The Redis second level (`cache.redis`), or null. */
  readonly shared: SharedCache | null;
}

/** One request as the core sees it; a face fills the inputs, the stages fill the rest. */
export interface Exchange extends CredentialsView, CacheLookup, HeaderSource {
  route: RouteConfig | null;

  outcome: Outcome | null;
  reason: Reason | null;
  response: PreparedResponse | null;
  /** The validator's result behind an allow (`null` for auth none or optional without a token). */
  result: TokenResult | null;
  tokenSource: TokenSource | null;
  /** The token's cache key (SHA-256, see cache/key.ts); its fingerprint is what logs show. */
  tokenKey: string | null;
  validator: ValidatorConfig | null;
}

export function authorize(core: Core, ex: Exchange): void | Promise<void> {
  const route = ex.route!;
  if (route.auth === 'none') return allow(ex, null);

  const extraction = extractToken(route.tokenFrom, ex);
  if (extraction.kind === 'malformed') return refuse(core, ex, extraction.reason);
  if (extraction.kind === 'none') return route.auth === 'optional' ? allow(ex, null) : refuse(core, ex, 'missing_token');
  ex.tokenSource = extraction.source;

  const validator = selectValidator(route.validator!, ex);
  if (validator === null) return refuse(core, ex, 'no_validator_for_region');
  ex.validator = validator;
  const state = core.validators.get(validator)!;

  const key = tokenKey(validator.name, extraction.token);
  ex.tokenKey = key;
  const found = lookupResult(core, state, key, extraction.token, clockNow(), ex);
  if (found instanceof Promise) {
    return found.then(
      (result) => conclude(core, ex, route, result),
      // Unreachable by design (validate never throws), and still closed if it ever happens.
      () => refuse(core, ex, 'validator_unreachable'),
    );
  }
  conclude(core, ex, route, found);
}

function conclude(core: Core, ex: Exchange, route: RouteConfig, result: TokenResult): void {
  const reason = decide(result, route);
  if (reason === null) allow(ex, result);
  else refuse(core, ex, reason);
}

function allow(ex: Exchange, result: TokenResult | null): void {
  ex.outcome = 'allow';
  ex.result = result;
}

/** Deny or error: the outcome and the prepared answer for `reason`. */
export function refuse(core: Core, ex: Exchange, reason: Reason): void {
  ex.outcome = outcomeOf(reason);
  ex.reason = reason;
  ex.response = responseFor(core.config, reason, ex.route, ex.validator);
}
