/**
 * Stage 6, identity: the headers prepared for this route's plan when the result was stored.
 * Removing forged copies happens earlier, in the face that reads the request (SPEC section 5:
 * "before anything else, on every route and every outcome").
 */
import type { RouteConfig } from '../config/compile.js';
import type { TokenResult } from '../cache/token-result.js';

export const NO_IDENTITY: readonly string[] = Object.freeze([]);

export function identityFor(result: TokenResult, route: RouteConfig): readonly string[] {
  return result.identity[route.identity.index] ?? NO_IDENTITY;
}
