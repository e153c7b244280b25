/**
 * Stage 6, identity: the header values prepared for this route's plan when the result was stored,
 * appended to the headers going upstream (or, for forward-auth, to the answer). Removing forged
 * copies happens earlier, in the face that reads the request (SPEC section 5: "before anything
 * else, on every route and every outcome").
 */
import type { RouteConfig, ValidatorConfig } from '../config/compile.js';
import { appendIdentityValues, type TokenResult } from '../cache/token-result.js';

export function attachIdentity(headers: string[], result: TokenResult | null, route: RouteConfig, validator: ValidatorConfig | null): void {
  if (result === null || validator === null) return;
  const offset = validator.identityOffsets.get(route.identity);
  if (offset !== undefined) appendIdentityValues(headers, result, offset, route.identity.headers);
}
