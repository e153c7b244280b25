/**
 * The admin port (SPEC `admin`, 127.0.0.1 by default): liveness and readiness for orchestrators.
 */
import { createServer, type Server } from 'node:http';
import { listen, urlOf } from '../http/listen.js';

export interface AdminServer {
  readonly url: string;
  close(): Promise<void>;
}

export interface AdminStatus {
  readonly ready: boolean;
}

export async function startAdminServer(listenOn: { host: string; port: number }, status: () => AdminStatus): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { status: 'method not allowed' });
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const ready = status().ready;
      return json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
    }
    return json(res, 404, { status: 'not found' });
  });
  await listen(server, listenOn.port, listenOn.host);
  return {
    url: urlOf(server),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
