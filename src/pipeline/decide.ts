/**
 * Stage 5, decide: three outcomes, fail closed (allow / deny / error). A valid result still has to
 * carry every scope the route requires (RFC 6750 §3.1 insufficient_scope). What an error answers
 * (503, or 401 with `onUnavailable: deny-401`) is configuration.
 */
import type { GatewayConfig, RouteConfig, ValidatorConfig } from '../config/compile.js';
import { denialOf, hasScopes, isUnavailable, type Denial, type TokenResult } from '../cache/token-result.js';
import type { DenialId, PreparedResponse } from '../http/errors.js';
import type { InvalidReason, UnavailableReason } from '../validators/judge.js';
import type { ExtractionFailure } from './extract-token.js';

/** The stable reason ids written on every deny or error log line. */
export type Reason =
  | 'no_route'
  | 'method_not_allowed'
  | 'bad_path'
  | 'form_body_too_large'
  | 'missing_token'
  | ExtractionFailure
  | 'no_validator_for_region'
  | InvalidReason
  | 'insufficient_scope'
  | UnavailableReason
  | 'upstream_unreachable'
  | 'upstream_timeout';

export type Outcome = 'allow' | 'deny' | 'error';

/** `null` means allow. */
export function decide(result: TokenResult, route: RouteConfig): Reason | null {
  const denial = denialOf(result);
  if (denial !== null) return denial;
  return route.requiredScopes.length === 0 || hasScopes(result, route.requiredScopes) ? null : 'insufficient_scope';
}

const UPSTREAM: ReadonlySet<Reason> = new Set<Reason>(['upstream_unreachable', 'upstream_timeout']);

/** The validator could not say: the reasons cache/token-result.ts calls unavailable. */
function unavailable(reason: Reason): boolean {
  return isUnavailable(reason as Denial);
}

export function outcomeOf(reason: Reason): Outcome {
  return unavailable(reason) || UPSTREAM.has(reason) ? 'error' : 'deny';
}

/** The answer the client gets for `reason` (SPEC section 4). */
export function responseFor(config: GatewayConfig, reason: Reason, route: RouteConfig | null, validator: ValidatorConfig | null): PreparedResponse {
  if (reason === 'insufficient_scope' && route !== null) return route.insufficientScope;
  if (unavailable(reason)) {
    return validator?.onUnavailable === 'deny-401' ? config.denials.validator_unavailable_as_invalid : config.denials.validator_unavailable;
  }
  // A reason without an entry of its own still gets an answer, and a closed one.
  return config.denials[reason as DenialId] ?? config.denials.validator_unavailable;
}
