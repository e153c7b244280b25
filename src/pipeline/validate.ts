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
import { REASON_IDS, isUnavailable, type ClientLimitReason, type UnavailableReason } from './reasons.js';

/**
 * No judged result: the validator could not say (answered as its `onUnavailable` says), or the
 * client was refused a call (429). Never cached.
 */
export interface Unjudged {
  readonly reason: UnavailableReason | ClientLimitReason;
}

/** A judged result (cacheable), or none. */
export type Verdict = TokenResult | Unjudged;

/** One frozen verdict per reason: an unavailable validator or a refused client costs no allocation either. */
export const UNJUDGED: { readonly [K in UnavailableReason | ClientLimitReason]: Unjudged } = Object.freeze(
  Object.fromEntries(
    REASON_IDS.filter((reason) => isUnavailable(reason) || reason === 'invalid_token_rate_exceeded' || reason === 'client_validation_budget_exceeded').map((reason) => [reason, Object.freeze({ reason })]),
  ) as Record<UnavailableReason | ClientLimitReason, Unjudged>,
);

/**
 * One validation, guarded: at most `maxConcurrentCalls` at a time and none while the circuit
 * breaker is open (both answer "unavailable" at once); every call observed in the metrics.
 */
/** `client`: whose request this is; the breaker counts failures once per client (see breaker.ts). */
export async function validate(core: Core, state: ValidatorState, token: string, fingerprint: string, client: string | null): Promise<Verdict> {
  const { config, breaker } = state;
  const nowMs = Date.now();
  if (state.active >= config.maxConcurrentCalls) return UNJUDGED.validator_overloaded;
  const admission = breaker.admit(clockAt(nowMs), client);
  if (admission === 'refused') return UNJUDGED.validator_circuit_open;
  const trial = admission === 'trial';

  state.active++;
  state.calls++;
  const started = performance.now();
  let status: number | null = null;
  let judgement: Judgement;
  let beforeSending = false;
  try {
    const answer = await callValidator(state.outbound, config, token);
    status = answer.status;
    judgement = judgeAnswer(answer, config, Date.now() / 1000);
  } catch (error) {
    const reason: UnavailableReason = error instanceof ValidatorCallError ? error.reason : 'validator_unreachable';
    beforeSending = error instanceof ValidatorCallError && error.beforeSending;
    core.log.warn({ validator: config.name, fp: fingerprint, reason, err: error instanceof ValidatorCallError ? error.message : describeFailure(error) }, 'validator unavailable');
    judgement = { kind: 'unavailable', reason };
  } finally {
    state.active--;
  }
  core.metrics.validatorCall(config.name, status, (performance.now() - started) / 1000);
  if (judgement.kind === 'unavailable') breaker.failed(clockAt(Date.now()), beforeSending ? null : client, trial);
  else breaker.succeeded(trial);
  core.metrics.circuit(config.name, breaker.isOpen(clockAt(Date.now())));

  return toVerdict(judgement, config, Date.now(), (dropped) =>
    core.log.warn({ validator: config.name, fp: fingerprint, header: dropped.header, reason: dropped.reason }, 'identity header dropped'),
  );
}

/** Cache lifetime (SPEC section 6): ttl for a valid token but never past its `exp`; negative ttl otherwise. */
export function toVerdict(judgement: Judgement, validator: ValidatorConfig, nowMs: number, onDropped: (dropped: DroppedIdentityHeader) => void): Verdict {
  const now = clockAt(nowMs);
  if (judgement.kind === 'unavailable') return UNJUDGED[judgement.reason];
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
  return encodeResult({ denial: null, expiresAt, staleUntil, scopes: judgement.scopes, identity: values, claims: validator.keepClaims && judgement.claimsBytes !== null ? judgement.claimsBytes.toString('latin1') : '' });
}
