/**
 * Bounds on connections (SPEC section 8, and what an attack on slow clients showed): how long the
 * header block and the whole request may take, how long an idle keep-alive connection stays, and
 * how many connections there may be, in all and per client address, so that one client holding
 * connections open cannot lock the others out.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerConfig } from '../config/compile.js';
import { clientKey } from './client-address.js';

/**
 * Node checks its header and request deadlines only every `connectionsCheckingInterval` (30 s by
 * default: a slow-header client then lasted 84 s against a 60 s bound); once a second makes the
 * bounds hold within a second.
 */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

/** Sets (or, on a reload, changes) the server's bounds. */
export function applyConnectionLimits(server: Server, limits: ServerConfig): void {
  server.headersTimeout = limits.headersTimeoutSeconds * 1000;
  server.requestTimeout = limits.requestTimeoutSeconds * 1000;
  server.keepAliveTimeout = limits.keepAliveTimeoutSeconds * 1000;
  server.maxConnections = limits.maxConnections;
}

/** Refuses a client's connection beyond `limit()` open ones from its address (IPv6: its /64). */
export function limitConnectionsPerClient(server: Server, limit: () => number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const client = clientKey(socket.remoteAddress ?? '');
    const count = (open.get(client) ?? 0) + 1;
    if (count > limit()) {
      socket.destroy();
      return;
    }
    open.set(client, count);
    socket.once('close', () => {
      const left = (open.get(client) ?? 1) - 1;
      if (left <= 0) open.delete(client);
      else open.set(client, left);
    });
  });
}
