/**
 * Stage 4, validate (on a cache miss): ask the validator, judge its answer, and turn the judgement
 * into a result that can be cached, with every identity header already rendered. Never throws:
 * whatever goes wrong becomes an "unavailable" result, and the caller fails closed.
 */
import type { Logger } from 'pino';
import type { ValidatorConfig } from '../config/compile.js';
import { clockAt, encodeResult, type TokenResult } from '../cache/token-result.js';
import { renderIdentityValues, type DroppedIdentityHeader } from '../identity/plan.js';
import { callValidator, ValidatorCallError } from '../validators/call.js';
import { judgeAnswer, type Judgement, type UnavailableReason } from '../validators/judge.js';
import type { ValidatorState } from '../validators/state.js';

export async function validate(state: ValidatorState, token: string, fingerprint: string, log: Logger): Promise<TokenResult> {
  state.calls++;
  let judgement: Judgement;
  try {
    const answer = await callValidator(state.pool, state.config, token);
    judgement = judgeAnswer(answer, state.config, Date.now() / 1000);
  } catch (error) {
    const reason: UnavailableReason = error instanceof ValidatorCallError ? error.reason : 'validator_unreachable';
    log.warn({ validator: state.config.name, fp: fingerprint, reason, err: (error as Error).message }, 'validator unavailable');
    judgement = { kind: 'unavailable', reason };
  }
  return toTokenResult(judgement, state.config, Date.now(), (dropped) =>
    log.warn({ validator: state.config.name, fp: fingerprint, header: dropped.header, reason: dropped.reason }, 'identity header dropped'),
  );
}

/** Cache lifetime (SPEC section 6): ttl for a valid token but never past its `exp`; negative ttl otherwise. */
export function toTokenResult(judgement: Judgement, validator: ValidatorConfig, nowMs: number, onDropped: (dropped: DroppedIdentityHeader) => void): TokenResult {
  const now = clockAt(nowMs);
  if (judgement.kind === 'unavailable') return encodeResult(judgement.reason, now, [], []);
  if (judgement.kind === 'invalid') return encodeResult(judgement.reason, now + validator.cache.negativeTtlSeconds * 1000, [], []);
  let expiresAt = now + validator.cache.ttlSeconds * 1000;
  if (judgement.exp !== undefined) expiresAt = Math.min(expiresAt, clockAt(judgement.exp * 1000));
  const values: (string | undefined)[] = new Array(validator.identityWidth);
  const dropped: DroppedIdentityHeader[] = [];
  for (const plan of validator.identityPlans) renderIdentityValues(plan, judgement.claims, values, validator.identityOffsets.get(plan)!, dropped);
  for (const item of dropped) onDropped(item);
  return encodeResult(null, expiresAt, judgement.scopes, values);
}
