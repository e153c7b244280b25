/**
 * The decision core, with the stage order written once:
 *
 *   extract token -> select validator -> cache (-> validate) -> decide
 *
 * A face builds the question (it has matched the route, read the request's credentials), calls
 * `authorize`, and acts on the Decision: the proxy forwards or answers, forward-auth answers, the
 * library returns it. `authorize` returns synchronously on a cache hit, and a promise only when
 * it must wait for Redis or the validator. Identity headers come from the allowed result
 * (attach-identity.ts), in whatever form the face sends them.
 */
import type { Logger } from 'pino';
import { tokenKey } from '../cache/key.js';
import type { SharedCache } from '../cache/redis.js';
import { clockNow, type TokenResult } from '../cache/token-result.js';
import type { GatewayConfig, Policy, ValidatorConfig } from '../config/compile.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { ValidatorState } from '../validators/state.js';
import { decide } from './decide.js';
import type { Decision, DecisionSlot } from './decision.js';
import { extractToken, type CredentialsView } from './extract-token.js';
import { lookupResult, type Verdict } from './lookup-cache.js';
import type { ClientBudgets } from './client-budget.js';
import { isInvalidToken, isUnavailable, outcomeOf, type Reason } from './reasons.js';
import { SEVERAL_VALUES, selectValidator, type HeaderSource } from './select-validator.js';

export interface Core {
  readonly config: GatewayConfig;
  readonly validators: ReadonlyMap<ValidatorConfig, ValidatorState>;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  /** The Redis second level (`cache.redis`), or null. */
  readonly shared: SharedCache | null;
  /** What each client may spend of the validators. */
  readonly clients: ClientBudgets;
}

/** What a face asks about one request. A face's own per-request object usually is its question. */
export interface Question extends CredentialsView, HeaderSource {
  readonly policy: Policy;
  /** The client's counting key (http/client-address.ts); `null`: no per-client limits (a library call without one). */
  readonly client: string | null;
}

export function authorize(core: Core, question: Question, slot: DecisionSlot): Decision | Promise<Decision> {
  const policy = question.policy;
  if (policy.auth === 'none') return slot.allow(null);

  const extraction = extractToken(policy.tokenFrom, question, core.config.server.maxTokenBytes);
  if (extraction.kind === 'malformed') {
    if (question.client !== null && isInvalidToken(extraction.reason)) core.clients.recordInvalid(question.client, Date.now());
    return refuse(core, slot, extraction.reason);
  }
  if (extraction.kind === 'none') return policy.auth === 'optional' ? slot.allow(null) : refuse(core, slot, 'missing_token');
  slot.tokenSource = extraction.source;

  const validator = selectValidator(policy.validator!, question);
  if (validator === SEVERAL_VALUES) return refuse(core, slot, 'several_selector_values');
  if (validator === null) return refuse(core, slot, 'no_validator_for_region');
  slot.validator = validator;
  const state = core.validators.get(validator)!;

  const key = tokenKey(validator.name, extraction.token);
  slot.tokenKey = key;
  const found = lookupResult(core, state, key, extraction.token, clockNow(), slot, question.client);
  if (found instanceof Promise) {
    return found.then(
      (verdict) => conclude(core, slot, policy, validator, verdict, question.client),
      // Unreachable by design (validate never throws), and still closed if it ever happens.
      () => slot.refuse('error', 'validator_unreachable', validator.unavailableAnswer),
    );
  }
  return conclude(core, slot, policy, validator, found, question.client);
}

function conclude(core: Core, slot: DecisionSlot, policy: Policy, validator: ValidatorConfig, verdict: Verdict, client: string | null): Decision {
  if (typeof verdict !== 'string') return isUnavailable(verdict.reason) ? slot.refuse('error', verdict.reason, validator.unavailableAnswer) : refuse(core, slot, verdict.reason);
  const result: TokenResult = verdict;
  const denial = decide(result, policy);
  if (denial === null) return slot.allow(result);
  if (denial === 'insufficient_scope') return slot.refuse('deny', denial, policy.insufficientScope);
  if (client !== null && core.clients.limitsInvalidTokens) {
    const now = Date.now();
    if (core.clients.overInvalidRate(client, now)) return refuse(core, slot, 'invalid_token_rate_exceeded');
    core.clients.recordInvalid(client, now);
  }
  return refuse(core, slot, denial);
}

/** Deny or error for `reason`, with the answer the reason table gives it. */
export function refuse(core: Core, slot: DecisionSlot, reason: Reason): Decision {
  return slot.refuse(outcomeOf(reason), reason, core.config.answers[reason]);
}
