/**
 * Routing: the request target, normalised to the path every backend will read, then the longest
 * configured path prefix that matches on a segment boundary (SPEC section 3: `/orders` matches
 * `/orders`, `/orders/7` and `/orders?x`, never `/ordersX`).
 *
 * The router decides on what the backend will see. Percent-encoded unreserved characters are
 * decoded (RFC 3986 §6.2.2.2: `/%6Frders` is `/orders` to nginx, Flask and Express alike) and the
 * normalised path is what goes upstream; anything that backends read in different ways (dot
 * segments, empty segments, encoded "/" or "\", NUL, invalid UTF-8) is refused. And where a
 * backend that ignores case (Express by default, IIS) or drops ";params" from segments (Tomcat,
 * Jetty, Spring) would pick another route than the spelling as sent, the path is refused as
 * ambiguous instead of guessing which reading the backend has.
 */
import { isUtf8 } from 'node:buffer';
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

const HEX = '0123456789ABCDEF';

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === 0x2e || byte === 0x5f || byte === 0x7e;
}

/**
 * The path as every backend reads it, or `null` when backends read it differently:
 * - `%XX` of an unreserved character is decoded, any other `%XX` is kept with upper-case hex
 *   (RFC 3986 §6.2.2.1/§6.2.2.2); encoded bytes above 0x7F must form valid UTF-8;
 * - refused: `%2F` and `%5C` (a "/" or "\" some backends decode before routing), `%00`, a "%" not
 *   followed by two hex digits, a raw "\" or "#", empty segments, and dot segments (RFC 3986
 *   §5.2.4), also when decoded from `%2E` or followed by ";params".
 * Node's parser already refuses control characters and raw bytes above 0x7F in the target.
 * An already-normal path is returned as is, without copying.
 */
export function normalizePath(path: string): string | null {
  if (path.charCodeAt(0) !== 47 /* / */) return null;
  let out: string | null = null; // built only once something changes
  let runStart = -1; // start in `out` of a run of encoded bytes above 0x7F, to check as UTF-8
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (code === 0x5c /* \ */ || code === 0x23 /* # */) return null;
    if (code !== 0x25 /* % */) {
      if (runStart !== -1 && !utf8Run(out!, runStart)) return null;
      runStart = -1;
      if (out !== null) out += path[i];
      continue;
    }
    const high = hexValue(path.charCodeAt(i + 1));
    const low = hexValue(path.charCodeAt(i + 2));
    if (high === -1 || low === -1) return null;
    const byte = high * 16 + low;
    if (byte === 0x2f || byte === 0x5c || byte === 0x00) return null;
    out ??= path.slice(0, i);
    if (byte < 0x80) {
      if (runStart !== -1 && !utf8Run(out, runStart)) return null;
      runStart = -1;
    } else if (runStart === -1) {
      runStart = out.length;
    }
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[high]}${HEX[low]}`;
    i += 2;
  }
  if (runStart !== -1 && !utf8Run(out!, runStart)) return null;
  const normal = out ?? path;
  return hasBadSegment(normal) ? null : normal;
}

/** Whether the `%XX` triplets from `start` to the end of `text` are one or more valid UTF-8 sequences. */
function utf8Run(text: string, start: number): boolean {
  const bytes = Buffer.alloc((text.length - start) / 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = hexValue(text.charCodeAt(start + i * 3 + 1)) * 16 + hexValue(text.charCodeAt(start + i * 3 + 2));
  return isUtf8(bytes);
}

/** Empty segments, and "." or ".." segments, bare or followed by ";params" (Tomcat resolves "/..;/"). */
const BAD_SEGMENT = /\/(?:\/|\.\.?(?:[/;]|$))/;

function hasBadSegment(path: string): boolean {
  return BAD_SEGMENT.test(path);
}

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: RouteConfig }
  | { readonly kind: 'no_route' }
  | { readonly kind: 'method_not_allowed'; readonly group: RouteGroup }
  /** Another reading of the path (case, ";params") would pick another route. */
  | { readonly kind: 'ambiguous' };

const NO_ROUTE: RouteMatch = Object.freeze({ kind: 'no_route' });
const AMBIGUOUS: RouteMatch = Object.freeze({ kind: 'ambiguous' });
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

function matchIn(groups: readonly RouteGroup[], method: string, path: string): RouteMatch {
  for (const group of groups) {
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

/** The same answer: the same route, no route, or the same refused group. */
function sameTarget(a: RouteMatch, b: RouteMatch): boolean {
  if (a === b) return true;
  return a.kind === 'method_not_allowed' && b.kind === 'method_not_allowed' && a.group.routes[0] === b.group.routes[0];
}

/** ";params" removed from every segment, as Tomcat, Jetty and Spring read a path. */
function withoutParams(path: string): string {
  return path.replace(/;[^/]*/g, '');
}

const NEEDS_OTHER_READINGS = /[A-Z;]/;

/**
 * The route for a normalised `path` (see normalizePath). When some backend could read the path
 * as another spelling (case ignored, ";params" dropped) that picks another route, the answer is
 * `ambiguous`: refused, so that the policy applied is always the one the backend serves.
 */
export function matchRoute(config: GatewayConfig, method: string, path: string): RouteMatch {
  const exact = matchIn(config.routeGroups, method, path);
  if (!config.routesHaveUpperCase && !NEEDS_OTHER_READINGS.test(path)) return exact;
  const stripped = withoutParams(path);
  const folded = config.foldedRouteGroups;
  if (!sameTarget(exact, matchIn(folded, method, path.toLowerCase()))) return AMBIGUOUS;
  if (stripped === path) return exact;
  if (!sameTarget(exact, matchIn(config.routeGroups, method, stripped))) return AMBIGUOUS;
  if (!sameTarget(exact, matchIn(folded, method, stripped.toLowerCase()))) return AMBIGUOUS;
  return exact;
}
