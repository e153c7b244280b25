/**
 * Stage 3b, validate (on a cache miss): ask the validator, judge its answer, and turn the judgement
 * into a result that can be cached, with every identity header already rendered. Never throws:
 * whatever goes wrong becomes an "unavailable" verdict, and the caller fails closed.
 */
import { clockAt, encodeResult, type TokenResult } from '../cache/token-result.js';
import type { ValidatorConfig } from '../config/compile.js';
import { describeFailure } from '../http/failure.js';
import { renderIdentityValues, type DroppedIdentityHeader } from '../identity/plan.js';
import { callValidator, ValidatorCallError } from '../validators/call.js';
import { judgeAnswer, type Judgement } from '../validators/judge.js';
import type { ValidatorState } from '../validators/state.js';
import type { Core } from './index.js';
import { REASON_IDS, isUnavailable, type UnavailableReason } from './reasons.js';

/** The validator could not say: never cached, answered as the validator's `onUnavailable` says. */
export interface Unavailable {
  readonly reason: UnavailableReason;
}

/** A judged result (cacheable) or "unavailable". */
export type Verdict = TokenResult | Unavailable;

/** One frozen verdict per reason: an unavailable validator costs no allocation either. */
export const UNAVAILABLE: { readonly [K in UnavailableReason]: Unavailable } = Object.freeze(
  Object.fromEntries(REASON_IDS.filter(isUnavailable).map((reason) => [reason, Object.freeze({ reason })])) as Record<UnavailableReason, Unavailable>,
);

/**
 * One validation, guarded: at most `maxConcurrentCalls` at a time and none while the circuit
 * breaker is open (both answer "unavailable" at once); every call observed in the metrics.
 */
export async function validate(core: Core, state: ValidatorState, token: string, fingerprint: string): Promise<Verdict> {
  const { config, breaker } = state;
  const nowMs = Date.now();
  if (state.active >= config.maxConcurrentCalls) return UNAVAILABLE.validator_overloaded;
  if (!breaker.admit(clockAt(nowMs))) return UNAVAILABLE.validator_circuit_open;

  state.active++;
  state.calls++;
  const started = performance.now();
  let status: number | null = null;
  let judgement: Judgement;
  try {
    const answer = await callValidator(state.pool, config, token);
    status = answer.status;
    judgement = judgeAnswer(answer, config, Date.now() / 1000);
  } catch (error) {
    const reason: UnavailableReason = error instanceof ValidatorCallError ? error.reason : 'validator_unreachable';
    core.log.warn({ validator: config.name, fp: fingerprint, reason, err: error instanceof ValidatorCallError ? error.message : describeFailure(error) }, 'validator unavailable');
    judgement = { kind: 'unavailable', reason };
  } finally {
    state.active--;
  }
  core.metrics.validatorCall(config.name, status, (performance.now() - started) / 1000);
  if (judgement.kind === 'unavailable') breaker.failed(clockAt(Date.now()));
  else breaker.succeeded();
  core.metrics.circuit(config.name, breaker.isOpen(clockAt(Date.now())));

  return toVerdict(judgement, config, Date.now(), (dropped) =>
    core.log.warn({ validator: config.name, fp: fingerprint, header: dropped.header, reason: dropped.reason }, 'identity header dropped'),
  );
}

/** Cache lifetime (SPEC section 6): ttl for a valid token but never past its `exp`; negative ttl otherwise. */
export function toVerdict(judgement: Judgement, validator: ValidatorConfig, nowMs: number, onDropped: (dropped: DroppedIdentityHeader) => void): Verdict {
  const now = clockAt(nowMs);
  if (judgement.kind === 'unavailable') return UNAVAILABLE[judgement.reason];
  if (judgement.kind === 'invalid') {
    const expiresAt = now + validator.cache.negativeTtlSeconds * 1000;
    return encodeResult({ denial: judgement.reason, expiresAt, staleUntil: expiresAt, scopes: [], identity: [], claims: '' });
  }
  const exp = judgement.exp === undefined ? Infinity : clockAt(judgement.exp * 1000);
  const expiresAt = Math.min(now + validator.cache.ttlSeconds * 1000, exp);
  // SPEC section 4: a stale positive result serves up to staleIfErrorSeconds past its ttl, never past exp.
  const staleUntil = validator.onUnavailable === 'stale' ? Math.min(expiresAt + validator.staleIfErrorSeconds * 1000, exp) : expiresAt;
  const values: (string | undefined)[] = new Array(validator.identityWidth);
  const dropped: DroppedIdentityHeader[] = [];
  for (const plan of validator.identityPlans) renderIdentityValues(plan, judgement.claims, values, validator.identityOffsets.get(plan)!, dropped);
  for (const item of dropped) onDropped(item);
  return encodeResult({ denial: null, expiresAt, staleUntil, scopes: judgement.scopes, identity: values, claims: validator.keepClaims ? judgement.claimsText : '' });
}
