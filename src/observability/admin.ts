/**
 * The admin port (SPEC `admin`; 127.0.0.1 by default, since it has no authentication of its own):
 *
 *   GET  /healthz   200 while the process runs (liveness)
 *   GET  /readyz    200 when the configuration is loaded and the proxy listens, 503 otherwise
 *                   (readiness); with Redis configured and not answering, 200 "degraded": the
 *                   gateway goes on with its own cache and the validator
 *   GET  /metrics   Prometheus text format
 *   POST /revoke    {"token": "…"}: forget the token everywhere (SPEC section 6)
 *
 * The same server fronts one gateway process, or the primary of `serve --workers N`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readBounded } from '../http/body.js';
import { listen, urlOf } from '../http/listen.js';

/** `ready`: can serve; `degraded`: serves, without something it can do without (Redis). */
export interface Readiness {
  readonly ready: boolean;
  readonly degraded: boolean;
  readonly checks: Record<string, boolean>;
}

export interface AdminHandlers {
  ready(): Promise<Readiness>;
  metrics(): Promise<{ contentType: string; body: string }>;
  revoke(token: string): Promise<object>;
}

export interface AdminServer {
  readonly url: string;
  close(): Promise<void>;
}

/** A revoke request carries one token; anything larger is not one. */
const MAX_REVOKE_BODY = 16 * 1024;

export async function startAdminServer(listenOn: { host: string; port: number }, handlers: AdminHandlers): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    route(req, res, handlers).catch((error: Error) => json(res, 500, { status: 'error', message: error.message }));
  });
  await listen(server, listenOn.port, listenOn.host, 'admin port');
  return {
    url: urlOf(server),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, handlers: AdminHandlers): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  if (path === '/revoke') {
    if (req.method !== 'POST') return json(res, 405, { status: 'use POST' }, { allow: 'POST' });
    const token = await readToken(req);
    if (token === null) return json(res, 400, { errors: [{ type: 'InvalidRequestError', message: 'Send {"token": "<access token>"} as JSON.' }] });
    return json(res, 200, await handlers.revoke(token));
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { status: 'use GET' }, { allow: 'GET, HEAD' });
  if (path === '/healthz') return json(res, 200, { status: 'ok' });
  if (path === '/readyz') {
    const { ready, degraded, checks } = await handlers.ready();
    return json(res, ready ? 200 : 503, { status: !ready ? 'not ready' : degraded ? 'degraded' : 'ready', checks });
  }
  if (path === '/metrics') {
    const { contentType, body } = await handlers.metrics();
    res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
    return;
  }
  return json(res, 404, { status: 'not found' });
}

async function readToken(req: IncomingMessage): Promise<string | null> {
  try {
    const body = JSON.parse((await readBounded(req, MAX_REVOKE_BODY, req.headers['content-length'])).toString('utf8')) as { token?: unknown };
    return typeof body.token === 'string' && body.token !== '' ? body.token : null;
  } catch {
    return null;
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}
