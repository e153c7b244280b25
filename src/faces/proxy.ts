/**
 * The proxy face: a node:http request goes through the decision core and, when allowed, on to the
 * route's upstream. One `ProxyExchange` object per request carries everything the stages need,
 * is the upstream call's listener and the access log's entry, so the hot path allocates little
 * beyond it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenResult } from '../cache/token-result.js';
import type { RouteConfig, ValidatorConfig } from '../config/compile.js';
import { sendPrepared, type PreparedResponse } from '../http/errors.js';
import { readInboundHeaders, rawHeader, removePair, type InboundHeaders } from '../http/request-headers.js';
import { removeParam } from '../http/urlencoded.js';
import type { AccessEntry, AccessLog } from '../observability/access-log.js';
import { attachIdentity } from '../pipeline/attach-identity.js';
import type { Outcome, Reason } from '../pipeline/decide.js';
import type { TokenSource } from '../pipeline/extract-token.js';
import { authorize, isNormalPath, matchRoute, parseTarget, refuse, type Exchange } from '../pipeline/index.js';
import type { CacheOutcome } from '../pipeline/lookup-cache.js';
import { UpstreamCall, upstreamPath, type UpstreamFailure, type UpstreamListener } from '../pipeline/proxy.js';
import type { Runtime } from '../runtime.js';

/** The most of a form body read to look for `access_token` (RFC 6750 §2.2). */
export const MAX_FORM_BYTES = 1024 * 1024;


const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const requestIdPrefix = `${process.pid.toString(36)}-${Date.now().toString(36)}-`;
let requestCounter = 0;

class ProxyExchange implements Exchange, UpstreamListener, AccessEntry {
  readonly runtime: Runtime;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly access: AccessLog;
  readonly startedAt: number;
  readonly method: string;
  path = '';
  query = '';
  requestId = '';
  inbound: InboundHeaders | null = null;

  authorization: string | undefined = undefined;
  authorizationCount = 0;
  form: string | undefined = undefined;
  formBody: Buffer | null = null;

  route: RouteConfig | null = null;
  outcome: Outcome | null = null;
  reason: Reason | null = null;
  response: PreparedResponse | null = null;
  result: TokenResult | null = null;
  tokenSource: TokenSource | null = null;
  tokenKey: string | null = null;
  validator: ValidatorConfig | null = null;
  cache: CacheOutcome | null = null;

  constructor(runtime: Runtime, req: IncomingMessage, res: ServerResponse, access: AccessLog) {
    this.runtime = runtime;
    this.req = req;
    this.res = res;
    this.access = access;
    this.startedAt = performance.now();
    this.method = req.method!;
  }

  header(lowerName: string): string | undefined {
    return rawHeader(this.req.rawHeaders, lowerName);
  }

  /** Ends the exchange with a prepared answer that needs no route (404, 405, 400, 413). */
  refuseWith(reason: Reason, response: PreparedResponse): void {
    this.outcome = 'deny';
    this.reason = reason;
    this.response = response;
    this.respond();
  }

  /** Sends the decision's answer (deny or error) and logs the request. */
  respond(): void {
    const response = this.response!;
    sendPrepared(this.res, response, this.method === 'HEAD');
    this.finish(response.status);
  }

  /** The exchange is over: one access line, one count. */
  finish(status: number): void {
    this.access.write(this, status);
    const runtime = this.runtime;
    runtime.metrics.request(this.route === null ? runtime.unroutedCounts : runtime.routeCounts[this.route.index]!, this.outcome ?? 'deny', this.reason);
  }

  upstreamDone(status: number, failure: UpstreamFailure | null): void {
    if (failure !== null && status === 0) {
      refuse(this.runtime, this, failure);
      this.respond();
      return;
    }
    if (failure !== null) {
      this.outcome = 'error';
      this.reason = failure;
    }
    this.finish(status);
  }
}

export function createProxyHandler(current: () => Runtime, access: AccessLog): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const runtime = current();
    const ex = new ProxyExchange(runtime, req, res, access);
    const config = runtime.config;

    const target = parseTarget(req.url ?? '');
    if (target === null || !isNormalPath(target.path)) {
      ex.path = target?.path ?? '';
      ex.requestId = requestIdFor(undefined);
      ex.refuseWith('bad_path', config.denials.bad_path);
      return;
    }
    ex.path = target.path;
    ex.query = target.query;

    const match = matchRoute(config, ex.method, target.path);
    if (match.kind !== 'route') {
      ex.requestId = requestIdFor(rawHeader(req.rawHeaders, 'x-request-id'));
      if (match.kind === 'no_route') ex.refuseWith('no_route', config.denials.no_route);
      else ex.refuseWith('method_not_allowed', match.group.methodNotAllowed);
      return;
    }
    const route = match.route;
    ex.route = route;

    const inbound = readInboundHeaders(req.rawHeaders, config.identityHeaderNames);
    ex.inbound = inbound;
    ex.requestId = requestIdFor(inbound.requestId);
    ex.authorization = inbound.authorization;
    ex.authorizationCount = inbound.authorizationCount;

    if (route.auth !== 'none' && route.tokenFrom.form && isFormPost(ex.method, inbound.contentType)) readForm(ex);
    else decideAndForward(ex);
  };
}

function decideAndForward(ex: ProxyExchange): void {
  const pending = authorize(ex.runtime, ex);
  if (pending === undefined) forwardOrRespond(ex);
  else pending.then(() => forwardOrRespond(ex)).catch(() => failClosed(ex));
}

function forwardOrRespond(ex: ProxyExchange): void {
  if (ex.outcome === 'allow') forward(ex);
  else ex.respond();
}

/** Whatever broke, the request is denied, never passed on. */
function failClosed(ex: ProxyExchange): void {
  refuse(ex.runtime, ex, 'validator_unreachable');
  if (!ex.res.headersSent) ex.respond();
}

function forward(ex: ProxyExchange): void {
  const route = ex.route!;
  const inbound = ex.inbound!;
  const headers = inbound.forward;
  let body: IncomingMessage | Buffer | null = inbound.chunked || (inbound.contentLength !== undefined && inbound.contentLength !== '0') ? ex.req : null;

  if (!route.forwardAuthorization && ex.tokenSource === 'header') removePair(headers, inbound.authorizationAt);
  if (ex.formBody !== null) {
    body = ex.formBody;
    if (!route.forwardAuthorization && ex.tokenSource === 'form') body = Buffer.from(removeParam(ex.formBody.toString('latin1'), 'access_token'), 'latin1');
    if (inbound.contentLengthAt >= 0) headers[inbound.contentLengthAt + 1] = String(body.length);
    else headers.push('content-length', String(body.length));
  }

  attachIdentity(headers, ex.result, route, ex.validator);
  const remote = ex.req.socket.remoteAddress ?? '';
  headers.push('x-forwarded-for', inbound.forwardedFor === undefined ? remote : `${inbound.forwardedFor}, ${remote}`, 'x-forwarded-proto', 'http');
  if (inbound.host !== undefined) headers.push('x-forwarded-host', inbound.host);

  UpstreamCall.start(ex.runtime.upstreams[route.index]!, ex.req, ex.res, upstreamPath(route, ex.path, ex.query), headers, body, ex);
}

/** RFC 6750 §2.2: a form token comes only in an application/x-www-form-urlencoded body of a method with body semantics. */
function isFormPost(method: string, contentType: string | undefined): boolean {
  if (contentType === undefined || method === 'GET' || method === 'HEAD') return false;
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

function readForm(ex: ProxyExchange): void {
  const tooLarge = () => ex.refuseWith('form_body_too_large', ex.runtime.config.denials.form_body_too_large);
  if (Number(ex.inbound!.contentLength ?? 0) > MAX_FORM_BYTES) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  ex.req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > MAX_FORM_BYTES) {
      over = true;
      tooLarge();
    } else {
      chunks.push(chunk);
    }
  });
  ex.req.on('end', () => {
    if (over) return;
    ex.formBody = Buffer.concat(chunks, size);
    ex.form = ex.formBody.toString('latin1');
    decideAndForward(ex);
  });
  ex.req.on('error', () => {
    over = true;
  });
}

/** The client's X-Request-Id when it is a plain token (it is logged as is), else a new one. */
function requestIdFor(incoming: string | undefined): string {
  if (incoming !== undefined && SAFE_REQUEST_ID.test(incoming)) return incoming;
  return requestIdPrefix + (++requestCounter).toString(36);
}
