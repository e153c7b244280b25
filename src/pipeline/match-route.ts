/**
 * Stage 1, route: the longest configured path prefix that matches on a segment boundary wins
 * (SPEC section 3: `/orders` matches `/orders`, `/orders/7` and `/orders?x`, never `/ordersX`).
 * A path that is not in normal form is refused before matching, so that `/public/../admin` can
 * never be judged by one route and served by another.
 */
import type { GatewayConfig, RouteConfig, RouteGroup } from '../config/compile.js';

export interface RequestTarget {
  readonly path: string;
  /** Without the leading "?"; '' when absent. */
  readonly query: string;
}

/**
 * Splits the request target into path and query. RFC 9112 §3.2.2: a server must accept the
 * absolute form (`GET http://host/path`), whose path is what routing sees. `null`: not a target
 * tokengate can route (asterisk form, authority form).
 */
export function parseTarget(url: string): RequestTarget | null {
  let start = 0;
  if (url.charCodeAt(0) !== 47 /* / */) {
    const scheme = url.startsWith('http://') ? 7 : url.startsWith('https://') ? 8 : -1;
    if (scheme === -1) return null;
    const slash = url.indexOf('/', scheme);
    const question = url.indexOf('?', scheme);
    if (slash === -1 || (question !== -1 && question < slash)) return { path: '/', query: question === -1 ? '' : url.slice(question + 1) };
    start = slash;
  }
  const question = url.indexOf('?', start);
  return question === -1 ? { path: start === 0 ? url : url.slice(start), query: '' } : { path: url.slice(start, question), query: url.slice(question + 1) };
}

// Dot segments (RFC 3986 §5.2.4), also when followed by ";params" (Tomcat, Jetty and Spring drop
// those before resolving ".."), empty segments, backslashes, a raw "#" (never part of a request
// target, RFC 9112 §3.2), and encoded "/", "\" or NUL: each is read differently by different
// backends, so none is let through.
const ABNORMAL = /\/(?:\.|%2e){1,2}(?:[/;#]|%3b|$)|\/\/|\\|#|%2f|%5c|%00/i;

export function isNormalPath(path: string): boolean {
  return !ABNORMAL.test(path);
}

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: RouteConfig }
  | { readonly kind: 'no_route' }
  | { readonly kind: 'method_not_allowed'; readonly group: RouteGroup };

const NO_ROUTE: RouteMatch = Object.freeze({ kind: 'no_route' });
// Match results are made once per route or group and reused: matching allocates nothing.
const routeMatches = new WeakMap<RouteConfig, RouteMatch>();
const groupMatches = new WeakMap<RouteGroup, RouteMatch>();

function matched(route: RouteConfig): RouteMatch {
  let match = routeMatches.get(route);
  if (match === undefined) routeMatches.set(route, (match = Object.freeze({ kind: 'route', route })));
  return match;
}

function refusedMethod(group: RouteGroup): RouteMatch {
  let match = groupMatches.get(group);
  if (match === undefined) groupMatches.set(group, (match = Object.freeze({ kind: 'method_not_allowed', group })));
  return match;
}

export function matchRoute(config: GatewayConfig, method: string, path: string): RouteMatch {
  for (const group of config.routeGroups) {
    const prefix = group.path;
    if (!path.startsWith(prefix)) continue;
    if (path.length !== prefix.length && prefix !== '/' && path.charCodeAt(prefix.length) !== 47 /* / */) continue;
    for (const route of group.routes) {
      // RFC 9110 §9.3.2: HEAD is allowed wherever GET is.
      if (route.methods === null || route.methods.has(method) || (method === 'HEAD' && route.methods.has('GET'))) return matched(route);
    }
    return refusedMethod(group);
  }
  return NO_ROUTE;
}
