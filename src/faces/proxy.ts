/**
 * The proxy face: a node:http request goes through the decision core and, when allowed, on to the
 * route's upstream. One ProxyExchange per request is the core's question, the upstream call's
 * listener and the access log's entry, so the hot path allocates little beyond it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mediaTypeOf } from '../http/media-type.js';
import { CONFLICTING_OVERRIDES, methodOverrideOf } from '../http/method-override.js';
import { readInboundHeaders, removePair, type InboundHeaders } from '../http/request-headers.js';
import { removeParam } from '../http/urlencoded.js';
import type { AccessLog } from '../observability/access-log.js';
import { attachIdentity } from '../pipeline/attach-identity.js';
import type { Decision } from '../pipeline/decision.js';
import { refuse } from '../pipeline/index.js';
import { matchRoute } from '../pipeline/match-route.js';
import type { Runtime } from '../runtime.js';
import { Exchange, requestIdFor, requestIdOf } from './exchange.js';
import { UpstreamCall, upstreamPath, type UpstreamFailure, type UpstreamListener } from './upstream.js';

/** The most of a form body read to look for `access_token` (RFC 6750 §2.2). */
export const MAX_FORM_BYTES = 1024 * 1024;

class ProxyExchange extends Exchange implements UpstreamListener {
  readonly face = 'proxy';
  inbound: InboundHeaders | null = null;
  formBody: Buffer | null = null;

  protected override forwardedFor(): string | undefined {
    return this.inbound === null ? super.forwardedFor() : this.inbound.forwardedFor;
  }

  upstreamDone(status: number, failure: UpstreamFailure | null): void {
    if (failure !== null && status === 0) {
      refuse(this.runtime, this.slot, failure);
      this.respond();
      return;
    }
    // The answer had begun: the client saw the backend's status, and the failure is logged.
    if (failure !== null) this.slot.refuse('error', failure, this.runtime.config.answers[failure]);
    this.finish(status);
  }
}

/** A target that is not a normal path (or not a path at all): 400, before any face. */
export function refuseBadTarget(runtime: Runtime, req: IncomingMessage, res: ServerResponse, access: AccessLog, rawPath: string): void {
  const ex = new ProxyExchange(runtime, req, res, access);
  ex.path = rawPath;
  ex.requestId = requestIdOf(req);
  ex.refuseWith('bad_path');
}

/** `path`: the request's path in normal form (normalizePath), the one routed, logged and sent upstream. */
export function proxyRequest(runtime: Runtime, req: IncomingMessage, res: ServerResponse, access: AccessLog, path: string, query: string): void {
  const ex = new ProxyExchange(runtime, req, res, access);
  const config = runtime.config;
  ex.path = path;
  ex.query = query;

  let match = matchRoute(config, ex.method, path);
  if (match.kind === 'route' && match.route.methodOverride) {
    // The backend will act on the overriding method: the route (and its policy) is chosen for it.
    const override = methodOverrideOf(req.rawHeaders, ex.query);
    if (override !== null && override !== ex.method && override !== CONFLICTING_OVERRIDES) match = matchRoute(config, override, path);
    // Both routes must honour it: the one chosen for the overriding method forwards the headers too.
    if (override === CONFLICTING_OVERRIDES || (match.kind === 'route' && !match.route.methodOverride)) {
      ex.requestId = requestIdOf(req);
      ex.refuseWith('method_override_refused');
      return;
    }
  }
  // A decision-only route (no upstream) is never proxied.
  if (match.kind !== 'route' || match.route.upstream === null) {
    ex.requestId = requestIdOf(req);
    if (match.kind === 'method_not_allowed') ex.refuseWith('method_not_allowed', match.group.methodNotAllowed);
    else ex.refuseWith(match.kind === 'ambiguous' ? 'ambiguous_path' : 'no_route');
    return;
  }
  const route = match.route;
  ex.route = route;
  ex.policy = route;

  const inbound = readInboundHeaders(req.rawHeaders, config.identityHeaderNames, route.methodOverride);
  ex.inbound = inbound;
  ex.requestId = requestIdFor(inbound.requestId);
  ex.authorization = inbound.authorization;
  ex.authorizationCount = inbound.authorizationCount;

  if (route.auth !== 'none' && route.tokenFrom.form && isFormPost(ex.method, inbound.contentType)) {
    ex.readBody(MAX_FORM_BYTES, inbound.contentLength, (body) => {
      ex.formBody = body;
      ex.form = body.toString('latin1');
      ex.decide(forwardOrRespond);
    });
  } else {
    ex.decide(forwardOrRespond);
  }

  function forwardOrRespond(decision: Decision): void {
    if (decision.outcome === 'allow') forward(ex, decision);
    else ex.respond();
  }
}

function forward(ex: ProxyExchange, decision: Decision): void {
  const route = ex.route!;
  const inbound = ex.inbound!;
  const headers = inbound.forward;
  let body: IncomingMessage | Buffer | null = inbound.chunked || (inbound.contentLength !== undefined && inbound.contentLength !== '0') ? ex.req : null;

  if (!route.forwardAuthorization && decision.tokenSource === 'header') removePair(headers, inbound.authorizationAt);
  if (ex.formBody !== null) {
    body = ex.formBody;
    if (!route.forwardAuthorization && decision.tokenSource === 'form') body = Buffer.from(removeParam(ex.formBody.toString('latin1'), 'access_token'), 'latin1');
    if (inbound.contentLengthAt >= 0) headers[inbound.contentLengthAt + 1] = String(body.length);
    else headers.push('content-length', String(body.length));
  }

  attachIdentity(headers, decision, route);
  const remote = ex.req.socket.remoteAddress ?? '';
  headers.push('x-forwarded-for', inbound.forwardedFor === undefined ? remote : `${inbound.forwardedFor}, ${remote}`, 'x-forwarded-proto', 'http', 'x-request-id', ex.requestId);
  if (inbound.host !== undefined) headers.push('x-forwarded-host', inbound.host);

  UpstreamCall.start(ex.runtime.upstreams[route.index]!, ex.req, ex.res, upstreamPath(route, ex.path, ex.query), headers, body, ex, ex.requestId, route.upstreamTimeoutMs);
}

/** RFC 6750 §2.2: a form token comes only in an application/x-www-form-urlencoded body of a method with body semantics. */
function isFormPost(method: string, contentType: string | undefined): boolean {
  return method !== 'GET' && method !== 'HEAD' && mediaTypeOf(contentType) === 'application/x-www-form-urlencoded';
}
