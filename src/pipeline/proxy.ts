/**
 * Stage 7, proxy: the allowed request goes to the route's upstream through an undici pool's
 * lowest-level `dispatch` (notes/http-stack-costs.md: the only Node client that beats a bare
 * proxy), body streamed both ways with back-pressure. Upstream failures become 502, a missed
 * answer deadline 504 (SPEC section 4).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import type { GatewayConfig, RouteConfig } from '../config/compile.js';
import { responseHeaders } from '../http/request-headers.js';
import { removeParam } from '../http/urlencoded.js';

export type UpstreamPools = ReadonlyMap<string, Pool>;

export function createUpstreamPools(config: GatewayConfig): UpstreamPools {
  const pools = new Map<string, Pool>();
  for (const route of config.routes) {
    if (!pools.has(route.upstream.origin)) pools.set(route.upstream.origin, new Pool(route.upstream.origin, { pipelining: 1, keepAliveTimeout: 30_000 }));
  }
  return pools;
}

export async function closeUpstreamPools(pools: UpstreamPools): Promise<void> {
  await Promise.all([...pools.values()].map((pool) => pool.close()));
}

/** Path and query sent upstream: the upstream's base path, then the request's, minus a query token. */
export function upstreamPath(route: RouteConfig, path: string, query: string): string {
  const kept = route.tokenFrom.query ? removeParam(query, 'access_token') : query;
  return kept === '' ? route.upstream.basePath + path : `${route.upstream.basePath}${path}?${kept}`;
}

/** How the face learns what happened to the upstream call. */
export interface UpstreamListener {
  /** The response has ended (or failed after its head was sent); `status` is what the client got. */
  upstreamDone(status: number, failure: 'upstream_unreachable' | 'upstream_timeout' | null): void;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * An undici dispatch handler (the core callback API, which undici calls without any wrapping or
 * header parsing) that copies the upstream answer to the client response.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #listener: UpstreamListener;
  #abort: ((err?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #status = 0;
  #done = false;

  constructor(res: ServerResponse, listener: UpstreamListener) {
    this.#res = res;
    this.#listener = listener;
  }

  static start(pool: Dispatcher, req: IncomingMessage, res: ServerResponse, route: RouteConfig, path: string, headers: string[], body: IncomingMessage | Buffer | null, listener: UpstreamListener): void {
    const call = new UpstreamCall(res, listener);
    res.once('close', call.#onClientClose);
    pool.dispatch(
      {
        method: req.method!,
        path,
        headers,
        body,
        headersTimeout: route.upstreamTimeoutMs,
        bodyTimeout: route.upstreamTimeoutMs,
      },
      call,
    );
  }

  #onClientClose = (): void => {
    if (!this.#done) {
      this.#done = true;
      this.#abort?.(new Error('client closed the connection'));
      this.#listener.upstreamDone(499, null);
    }
  };

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // RFC 9110 §15.2: interim answers are not relayed
    this.#status = statusCode;
    this.#resume = resume;
    this.#res.writeHead(statusCode, responseHeaders(rawHeaders));
    return true;
  }

  onData(chunk: Buffer): boolean {
    const flowing = this.#res.write(chunk);
    if (!flowing) this.#res.once('drain', this.#onDrain);
    return flowing;
  }

  #onDrain = (): void => {
    this.#resume?.();
  };

  onComplete(): void {
    if (this.#done) return;
    this.#done = true;
    this.#res.end();
    this.#listener.upstreamDone(this.#status, null);
  }

  onError(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    const failure = TIMEOUT_CODES.has((error as { code?: string }).code ?? '') ? 'upstream_timeout' : 'upstream_unreachable';
    if (this.#res.headersSent) {
      this.#res.destroy(error);
      this.#listener.upstreamDone(this.#status, failure);
    } else {
      this.#listener.upstreamDone(0, failure);
    }
  }
}
