/**
 * The proxy face: a node:http request goes through the decision core and, when allowed, on to the
 * route's upstream. One ProxyExchange per request is the core's question, the upstream call's
 * listener and the access log's entry, so the hot path allocates little beyond it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { CONFLICTING_OVERRIDES, methodOverrideOf } from '../http/method-override.js';
import { readInboundHeaders, removePair, type InboundHeaders } from '../http/request-headers.js';
import { paramValues, removeParam } from '../http/urlencoded.js';
import type { AccessLog } from '../observability/access-log.js';
import { attachIdentity } from '../pipeline/attach-identity.js';
import type { Decision } from '../pipeline/decision.js';
import { refuse } from '../pipeline/index.js';
import { matchRoute } from '../pipeline/match-route.js';
import type { Runtime } from '../runtime.js';
import { Exchange, requestIdFor, requestIdOf } from './exchange.js';
import { bodyKindOf, formMethodOverride, MAX_FORM_BYTES, overridePartScanner } from './form-inspection.js';
import { UpstreamCall, upstreamPath, type UpstreamFailure, type UpstreamListener } from './upstream.js';

class ProxyExchange extends Exchange implements UpstreamListener {
  readonly face = 'proxy';
  inbound: InboundHeaders | null = null;
  /** The request has a body to forward (a Content-Length other than 0, or chunked). */
  hasBody = false;
  formBody: Buffer | null = null;
  /** A multipart body: watched for a `_method` part. */
  watchMultipart = false;

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
  // The method the backend will act on (X-HTTP-Method-Override and kin, `?_method=`), on routes that honour them.
  let actingMethod = ex.method;
  if (match.kind === 'route' && match.route.methodOverride) {
    // The backend will act on the overriding method: the route (and its policy) is chosen for it.
    const override = methodOverrideOf(req.rawHeaders, ex.query);
    if (override !== null && override !== CONFLICTING_OVERRIDES) actingMethod = override;
    if (actingMethod !== ex.method) match = matchRoute(config, actingMethod, path);
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

  // Which body the backend parses, and so whether it carries a token or a `_method`, must not be in doubt.
  if (inbound.contentTypeCount > 1) return ex.refuseWith('several_content_types');
  ex.hasBody = inbound.chunked || (inbound.contentLength !== undefined && inbound.contentLength !== '0');
  const kind = ex.hasBody && ex.method !== 'GET' && ex.method !== 'HEAD' ? bodyKindOf(inbound.contentType) : 'other';
  if (kind === 'urlencoded') {
    ex.readBody(MAX_FORM_BYTES, inbound.contentLength, (body) => {
      const form = body.toString('latin1');
      // A `_method` in the body must name the method the route was chosen for, or be refused.
      const override = formMethodOverride(form);
      if (override !== null && (!route.methodOverride || override !== actingMethod)) return ex.refuseWith('method_override_refused');
      // RFC 6750 §2: a token where the route does not take one is refused, not passed on.
      if (route.auth !== 'none' && !route.tokenFrom.form && paramValues(form, 'access_token').length > 0) return ex.refuseWith('token_source_not_allowed');
      ex.formBody = body;
      if (route.auth !== 'none' && route.tokenFrom.form) ex.form = form;
      ex.decide(forwardOrRespond);
    });
  } else {
    // Its value cannot be read as it streams, so a `_method` part is refused on every route.
    ex.watchMultipart = kind === 'multipart';
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
  let body: Readable | Buffer | null = ex.hasBody ? ex.req : null;
  let call: UpstreamCall | null = null;
  if (body !== null && ex.watchMultipart) {
    // Cut off before the backend has the whole body, so that it never acts on the override.
    const scanner = overridePartScanner(() => {
      call?.cancel();
      if (!ex.res.headersSent) ex.refuseWith('method_override_refused');
      else ex.res.destroy();
    });
    ex.req.pipe(scanner);
    body = scanner;
  }

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

  call = UpstreamCall.start(ex.runtime.upstreams[route.index]!, ex.req, ex.res, upstreamPath(route, ex.path, ex.query), headers, body, ex, ex.requestId, route.upstreamTimeoutMs);
}
