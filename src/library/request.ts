/**
 * What the framework faces share: the question about one request, read from the request itself as
 * the gateway reads it (every Authorization header and their count, the raw query string, a form
 * body when the policy accepts form tokens), so that the core, not the face, extracts the token
 * (RFC 6750 section 2); and the gateway's answer to a refusal.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Policy } from '../config/compile.js';
import { sendPrepared } from '../http/errors.js';
import { mediaTypeOf } from '../http/media-type.js';
import { rawHeaderValues } from '../http/request-headers.js';
import type { ClientResolver } from '../http/client-address.js';
import type { Question } from '../pipeline/index.js';
import { preparedOf, type TokenDecision } from './decision.js';
import { engineOf } from './engine.js';
import type { TokenValidator } from './index.js';
import type { RequestOptions } from './options.js';

class RequestQuestion implements Question {
  readonly policy: Policy;
  readonly authorization: string | undefined;
  readonly authorizationCount: number;
  readonly query: string;
  readonly form: string | undefined;
  readonly #req: IncomingMessage;
  readonly #resolver: ClientResolver;
  #client: string | undefined;

  constructor(policy: Policy, req: IncomingMessage, url: string, body: unknown, resolver: ClientResolver) {
    this.policy = policy;
    const authorization = rawHeaderValues(req.rawHeaders, 'authorization');
    this.authorization = authorization[0];
    this.authorizationCount = authorization.length;
    const question = url.indexOf('?');
    this.query = question === -1 ? '' : url.slice(question + 1);
    this.form = policy.tokenFrom.form ? formOf(req, body) : undefined;
    this.#req = req;
    this.#resolver = resolver;
  }

  /** The client as the gateway counts it (socket address, or X-Forwarded-For behind `server.trustedProxies`). */
  get client(): string {
    if (this.#client === undefined) {
      const forwarded = rawHeaderValues(this.#req.rawHeaders, 'x-forwarded-for');
      this.#client = this.#resolver.clientOf(this.#req.socket.remoteAddress ?? '', forwarded.length === 0 ? undefined : forwarded.join(', '));
    }
    return this.#client;
  }

  headerValues(lowerName: string): readonly string[] {
    return rawHeaderValues(this.#req.rawHeaders, lowerName);
  }
}

/**
 * RFC 6750 §2.2: a form token comes only in an `application/x-www-form-urlencoded` body of a
 * method with body semantics. The body is the framework's: the raw text (a string or Buffer), or
 * the object its urlencoded parser made, whose `access_token` values are encoded back for the core.
 */
function formOf(req: IncomingMessage, body: unknown): string | undefined {
  if (req.method === 'GET' || req.method === 'HEAD' || mediaTypeOf(req.headers['content-type']) !== 'application/x-www-form-urlencoded') return undefined;
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('latin1');
  if (body === null || typeof body !== 'object' || !Object.hasOwn(body, 'access_token')) return undefined;
  const value: unknown = (body as Record<string, unknown>).access_token;
  const params = new URLSearchParams();
  for (const token of Array.isArray(value) ? (value as unknown[]) : [value]) if (typeof token === 'string') params.append('access_token', token);
  return params.toString();
}

/** A face's guard: its options compiled once, then one decision per request. */
export interface Guard {
  /** Whether the policy reads form bodies (the face must wait for the framework to parse one). */
  readonly readsForm: boolean;
  /** `url`: the request target as received (path and query); `body`: the parsed body, if any. */
  decide(req: IncomingMessage, url: string, body: unknown): TokenDecision | Promise<TokenDecision>;
}

/** Compiles `options` at once, so that a bad option fails when the app is built, not per request. */
export function createGuard(tg: TokenValidator, options: RequestOptions | undefined): Guard {
  const engine = engineOf(tg);
  const policy = engine.policies.policyFor(options);
  const resolver = engine.runtime.clientResolver;
  return {
    readsForm: policy.tokenFrom.form,
    decide: (req, url, body) => engine.decide(new RequestQuestion(policy, req, url, body, resolver)),
  };
}

/**
 * Calls `then(decision)` when the decision is known: at once on a cache hit, else when the
 * validator has answered. The core's promise never rejects (it fails closed on its own); what
 * `then` throws is the application's, as from any request listener.
 */
export function whenDecided(pending: TokenDecision | Promise<TokenDecision>, then: (decision: TokenDecision) => void): void {
  if (pending instanceof Promise) void pending.then(then);
  else then(pending);
}

/** Sends a refusal exactly as the gateway does: its status, its headers, its body (none for HEAD). */
export function sendDenial(req: IncomingMessage, res: ServerResponse, decision: TokenDecision): void {
  sendPrepared(res, preparedOf(decision)!, req.method === 'HEAD');
}
