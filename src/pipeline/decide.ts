/**
 * Stage 4, decide: a judged result and the policy give allow (`null`) or the reason to refuse. A
 * valid result still has to carry every scope the policy requires (RFC 6750 §3.1
 * insufficient_scope). What the validator being unavailable answers is the validator's
 * `onUnavailable`, applied where the verdict is concluded (index.ts).
 */
import { denialOf, hasScopes, type TokenResult } from '../cache/token-result.js';
import type { Policy } from '../config/compile.js';
import type { StoredReason } from './reasons.js';

export function decide(result: TokenResult, policy: Policy): StoredReason | 'insufficient_scope' | null {
  const denial = denialOf(result);
  if (denial !== null) return denial;
  return policy.requiredScopes.length === 0 || hasScopes(result, policy.requiredScopes) ? null : 'insufficient_scope';
}
