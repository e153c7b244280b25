/**
 * Identity: the header values prepared for this policy's plan when the result was stored,
 * appended to a flat header list (the request going upstream, or forward-auth's answer). Removing
 * forged copies happens first, in the face that reads the request (SPEC section 5: "before
 * anything else, on every route and every outcome").
 */
import { appendIdentityValues } from '../cache/token-result.js';
import type { Policy } from '../config/compile.js';
import type { Decision } from './decision.js';

export function attachIdentity(headers: string[], decision: Decision, policy: Policy): void {
  if (decision.result === null || decision.validator === null) return;
  const offset = decision.validator.identityOffsets.get(policy.identity);
  if (offset !== undefined) appendIdentityValues(headers, decision.result, offset, policy.identity.headers);
}
