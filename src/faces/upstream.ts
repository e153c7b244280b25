/**
 * The proxy face's way out: the allowed request goes to the route's upstream through an undici pool's
 * lowest-level `dispatch` (notes/http-stack-costs.md: the only Node client that beats a bare
 * proxy), body streamed both ways with back-pressure. Upstream failures become 502, a missed
 * answer deadline 504 (SPEC section 4).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { GatewayConfig, RouteConfig } from '../config/compile.js';
import { isTimeout } from '../http/failure.js';
import { METHOD_OVERRIDE_PARAM } from '../http/header-names.js';
import { responseHeaders } from '../http/request-headers.js';
import { removeParam } from '../http/urlencoded.js';
import type { Reason } from '../pipeline/reasons.js';

/** The pool of each route, by route index (`null` for a route that is never proxied); routes with the same upstream and deadline share one. */
export type UpstreamPools = readonly (Pool | null)[];

/**
 * The answer deadline (`upstreamTimeoutMs`) is kept by each call's own timer (undici runs timeouts
 * of a second or more on a coarse shared timer: 1,000 ms answered after about 1,374); the pool's
 * headers timeout is only a backstop, and its body timeout bounds the pause between body chunks.
 */
const BACKSTOP_MS = 1_000;

/** What a missed answer deadline is, to isTimeout (http/failure.ts): a 504. */
function deadlineError(): Error {
  return Object.assign(new Error('the backend did not answer in time'), { name: 'TimeoutError' });
}

export function createUpstreamPools(config: GatewayConfig): UpstreamPools {
  const shared = new Map<string, Pool>();
  return Object.freeze(
    config.routes.map((route) => {
      if (route.upstream === null) return null;
      const key = `${route.upstream.origin} ${route.upstreamTimeoutMs}`;
      let pool = shared.get(key);
      if (pool === undefined) {
        pool = new Pool(route.upstream.origin, {
          pipelining: 1,
          keepAliveTimeout: 30_000,
          headersTimeout: route.upstreamTimeoutMs + BACKSTOP_MS,
          bodyTimeout: route.upstreamTimeoutMs,
        });
        shared.set(key, pool);
      }
      return pool;
    }),
  );
}

export async function closeUpstreamPools(pools: UpstreamPools): Promise<void> {
  await Promise.all([...new Set(pools)].flatMap((pool) => (pool === null ? [] : [pool.close()])));
}

/** Path and query sent upstream: the upstream's base path, then the request's, minus a query token and (unless the route opts in) `_method`. */
export function upstreamPath(route: RouteConfig, path: string, query: string): string {
  let kept = route.tokenFrom.query ? removeParam(query, 'access_token') : query;
  if (!route.methodOverride) kept = removeParam(kept, METHOD_OVERRIDE_PARAM);
  const basePath = route.upstream!.basePath;
  return kept === '' ? basePath + path : `${basePath}${path}?${kept}`;
}

export type UpstreamFailure = Extract<Reason, 'upstream_unreachable' | 'upstream_timeout'>;

/** How the face learns what happened to the upstream call. */
export interface UpstreamListener {
  /**
   * The exchange is over: `status` is what the client got (0 when nothing was sent yet and the face
   * must answer `failure`; 499 when the client went away first).
   */
  upstreamDone(status: number, failure: UpstreamFailure | null): void;
}

/**
 * An undici dispatch handler (the core callback API, which undici calls without any wrapping or
 * header parsing) that copies the upstream answer to the client response.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #listener: UpstreamListener;
  readonly #requestId: string;
  #abort: ((err?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #status = 0;
  #done = false;
  #deadline: NodeJS.Timeout | null = null;
  #timeoutMs = 0;

  private constructor(res: ServerResponse, listener: UpstreamListener, requestId: string) {
    this.#res = res;
    this.#listener = listener;
    this.#requestId = requestId;
  }

  /** `timeoutMs`: until the backend's answer (its status line and headers) must have begun. */
  static start(pool: Dispatcher, req: IncomingMessage, res: ServerResponse, path: string, headers: string[], body: Readable | Buffer | null, listener: UpstreamListener, requestId: string, timeoutMs: number): UpstreamCall {
    const call = new UpstreamCall(res, listener, requestId);
    // A client that goes away ends the upstream call too (not `once`: no wrapper per request).
    res.on('close', call.#onClientClose);
    call.#timeoutMs = timeoutMs;
    call.#deadline = setTimeout(call.#onDeadline, timeoutMs);
    pool.dispatch({ method: req.method!, path, headers, body }, call);
    return call;
  }

  /** Ends the call from the gateway's side (the request turned out to be refused): the listener is not told. */
  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    this.#stopDeadline();
    this.#abort?.(new Error('refused by the gateway'));
  }

  #stopDeadline(): void {
    if (this.#deadline !== null) clearTimeout(this.#deadline);
    this.#deadline = null;
  }

  #onDeadline = (): void => {
    this.#deadline = null;
    if (this.#done || this.#status !== 0) return;
    if (this.#abort !== null) this.#abort(deadlineError());
    else this.onError(deadlineError()); // not even connected: the call is ended here, and aborted once it connects
  };

  #onClientClose = (): void => {
    if (this.#done) return;
    this.#done = true;
    this.#stopDeadline();
    this.#abort?.(new Error('client closed the connection'));
    this.#listener.upstreamDone(499, null);
  };

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#done) abort(new Error('ended before it connected'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // RFC 9110 §15.2: interim answers are not relayed
    this.#stopDeadline();
    this.#status = statusCode;
    this.#resume = resume;
    this.#res.writeHead(statusCode, responseHeaders(rawHeaders, this.#requestId));
    return true;
  }

  /**
   * With back-pressure from a client that reads slowly, the backend's answer waits; a client that
   * makes no progress for the answer deadline is cut off (nginx's send_timeout), so that it cannot
   * hold a backend connection for ever (undici's body timeout does not run while paused).
   */
  onData(chunk: Buffer): boolean {
    if (this.#res.write(chunk)) return true;
    this.#res.once('drain', this.#onDrain);
    this.#deadline = setTimeout(this.#onStalled, this.#timeoutMs);
    return false;
  }

  #onDrain = (): void => {
    this.#stopDeadline();
    this.#resume?.();
  };

  #onStalled = (): void => {
    this.#deadline = null;
    if (this.#done) return;
    this.#done = true;
    this.#abort?.(new Error('the client stopped reading'));
    // A reset: a close would wait behind the unread bytes, which this client is not reading.
    const socket = this.#res.socket;
    if (socket !== null && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else this.#res.destroy();
    this.#listener.upstreamDone(this.#status, 'upstream_timeout');
  };

  onComplete(): void {
    if (this.#done) return;
    this.#done = true;
    this.#stopDeadline();
    // Logged before the last byte goes out: a client that has its answer may act at once (send a
    // signal, say), and its request's line must already be ahead of whatever that causes.
    this.#listener.upstreamDone(this.#status, null);
    this.#res.end();
  }

  onError(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#stopDeadline();
    const failure: UpstreamFailure = isTimeout(error) ? 'upstream_timeout' : 'upstream_unreachable';
    if (this.#res.headersSent) {
      this.#res.destroy(error);
      this.#listener.upstreamDone(this.#status, failure);
    } else {
      this.#listener.upstreamDone(0, failure);
    }
  }
}
