/**
 * The forward-auth face (SPEC 7.1): a request to `forwardAuth.path` is a question about another
 * request, the original one, named by the calling gateway's convention:
 *
 * - nginx `auth_request`: `X-Original-URI` and `X-Original-Method` (set in the nginx config);
 * - Traefik `forwardAuth`, Caddy `forward_auth`: `X-Forwarded-Uri` and `X-Forwarded-Method`;
 * - Envoy `ext_authz` (HTTP service): the original path appended to the decision path, the
 *   original method as the question's.
 *
 * Conventions that disagree, or a naming header sent twice, make the question unclear (400): a
 * client could otherwise name one request to the decision while the gateway serves another. The
 * route the original URI matches supplies the policy; the token is the question's Authorization
 * (or, as `tokenFrom` allows, the original URI's `access_token`). Allowed: 200, no body, the identity
 * headers on the answer. Denied: exactly the proxy's answer. Nothing is ever proxied from here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONFLICTING_OVERRIDES, methodOverrideOf } from '../http/method-override.js';
import { rawHeaderValues } from '../http/request-headers.js';
import { TOKEN } from '../http/syntax.js';
import type { AccessLog } from '../observability/access-log.js';
import { attachIdentity } from '../pipeline/attach-identity.js';
import type { Decision } from '../pipeline/decision.js';
import { matchRoute, normalizePath, parseTarget } from '../pipeline/match-route.js';
import type { Runtime } from '../runtime.js';
import { Exchange, requestIdOf } from './exchange.js';

class ForwardAuthExchange extends Exchange {
  readonly face = 'forward-auth';
}

interface Original {
  readonly uri: string;
  readonly method: string;
}

const UNCLEAR = Symbol('unclear');

/** The one value of a header, `undefined` when absent, UNCLEAR when sent more than once. */
function single(raw: readonly string[], name: string): string | undefined | typeof UNCLEAR {
  const values = rawHeaderValues(raw, name);
  return values.length > 1 ? UNCLEAR : values[0];
}

/** The original request the question names, `null` when it names none. */
function originalOf(req: IncomingMessage, suffix: string, query: string): Original | null | typeof UNCLEAR {
  const raw = req.rawHeaders;
  const named: Original[] = [];
  if (suffix !== '') named.push({ uri: query === '' ? suffix : `${suffix}?${query}`, method: req.method! });
  for (const [uriHeader, methodHeader] of [['x-original-uri', 'x-original-method'], ['x-forwarded-uri', 'x-forwarded-method']] as const) {
    const uri = single(raw, uriHeader);
    const method = single(raw, methodHeader);
    if (uri === UNCLEAR || method === UNCLEAR) return UNCLEAR;
    if (uri === undefined) continue;
    named.push({ uri, method: method === undefined ? req.method! : method.trim().toUpperCase() });
  }
  if (named.length === 0) return null;
  const first = named[0];
  for (const other of named) if (other.uri !== first.uri || other.method !== first.method) return UNCLEAR;
  return TOKEN.test(first.method) ? first : UNCLEAR;
}

export function answerForwardAuth(runtime: Runtime, req: IncomingMessage, res: ServerResponse, access: AccessLog, suffix: string, query: string): void {
  const ex = new ForwardAuthExchange(runtime, req, res, access);
  const config = runtime.config;
  ex.requestId = requestIdOf(req);
  const original = originalOf(req, suffix, query);
  if (original === UNCLEAR) return ex.refuseWith('original_request_unclear');
  if (original === null) return ex.refuseWith('no_route');

  const target = parseTarget(original.uri);
  const path = target === null ? null : normalizePath(target.path);
  ex.method = original.method;
  ex.path = path ?? target?.path ?? original.uri;
  if (path === null) return ex.refuseWith('bad_path');
  ex.query = target!.query;

  let match = matchRoute(config, ex.method, path);
  if (match.kind === 'route') {
    // The backend gets the original request from the calling gateway, override headers and all:
    // they cannot be removed from here, so they either choose the route (opted in) or are refused.
    const override = methodOverrideOf(req.rawHeaders, ex.query);
    if (override !== null) {
      if (override !== CONFLICTING_OVERRIDES && override !== ex.method && match.route.methodOverride) match = matchRoute(config, override, path);
      if (override === CONFLICTING_OVERRIDES || (match.kind === 'route' && !match.route.methodOverride)) return ex.refuseWith('method_override_refused');
    }
  }
  if (match.kind === 'method_not_allowed') return ex.refuseWith('method_not_allowed', match.group.methodNotAllowed);
  if (match.kind !== 'route') return ex.refuseWith(match.kind === 'ambiguous' ? 'ambiguous_path' : 'no_route');
  const route = match.route;
  ex.route = route;
  ex.policy = route;
  const authorization = rawHeaderValues(req.rawHeaders, 'authorization');
  ex.authorization = authorization[0];
  ex.authorizationCount = authorization.length;

  ex.decide((decision: Decision) => {
    if (decision.outcome !== 'allow') return ex.respond();
    const headers: string[] = ['content-length', '0', 'cache-control', 'no-store'];
    attachIdentity(headers, decision, route);
    res.writeHead(200, headers);
    res.end();
    ex.finish(200);
  });
}
