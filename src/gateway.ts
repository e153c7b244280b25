/**
 * A running gateway: the node:http server, the current runtime (see runtime.ts), metrics, the admin
 * server, reload and drain. `serve`, `demo`, cluster workers and the tests all start the gateway
 * through here.
 */
import { createServer, type Server } from 'node:http';
import type { DestinationStream, Logger } from 'pino';
import type { GatewayConfig } from './config/compile.js';
import { createRequestHandler } from './faces/dispatch.js';
import { applyConnectionLimits, CONNECTIONS_CHECKING_INTERVAL_MS, limitConnectionsPerClient } from './http/connection-limits.js';
import { listen, urlOf } from './http/listen.js';
import { AccessLog } from './observability/access-log.js';
import { startAdminServer, type AdminHandlers, type AdminServer, type Readiness } from './observability/admin.js';
import { createLogOutput, type LogOutput } from './observability/logger.js';
import { GatewayMetrics } from './observability/metrics.js';
import { revokeToken } from './pipeline/revoke.js';
import { createRuntime, releaseRuntime, type Runtime } from './runtime.js';

export interface GatewayOptions {
  readonly config: GatewayConfig;
  /** Where JSON log lines go; stdout (asynchronously) by default. */
  readonly logDestination?: DestinationStream;
  /** How long a drain waits for in-flight requests before closing connections. */
  readonly drainTimeoutMs?: number;
  /** Start the admin server when the configuration has one (a cluster worker leaves it to the primary). */
  readonly admin?: boolean;
  /** Bindings added to every log line (a worker's id). */
  readonly logBindings?: Record<string, unknown>;
}

export interface Gateway {
  /** `http://host:port` the proxy listens on. */
  readonly url: string;
  readonly adminUrl: string | null;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Writes the access lines still batched in memory (they go out every 100 ms anyway). */
  flushLogs(): void;
  /** Logs a lifecycle line (draining, reloaded, …) after every request line before it. */
  lifecycle(message: string, fields?: Record<string, unknown>): void;
  /** The runtime serving new requests now. */
  runtime(): Runtime;
  /** What /readyz reports. */
  readiness(): Readiness;
  /** Forgets a token in every cache (SPEC section 6). */
  revoke(token: string, announce?: boolean): ReturnType<typeof revokeToken>;
  /** Swaps in a new configuration; requests in flight finish on the old one. */
  reload(config: GatewayConfig): Promise<void>;
  /** Stops accepting, lets in-flight requests finish (bounded), releases everything. */
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const output: LogOutput = createLogOutput(options.logDestination);
  const logger = options.logBindings === undefined ? output.logger : output.logger.child(options.logBindings);
  const metrics = new GatewayMetrics();
  let runtime = createRuntime(options.config, logger, metrics);
  const access = new AccessLog(output.sink, { enabled: logger.isLevelEnabled('info') });
  /** A lifecycle line, after every request line before it. */
  const lifecycle = (message: string, fields: Record<string, unknown> = {}) => {
    access.flush();
    logger.info(fields, message);
  };
  const server: Server = createServer({ connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS }, createRequestHandler(() => runtime, access));
  applyConnectionLimits(server, options.config.server);
  limitConnectionsPerClient(server, () => runtime.config.server.maxConnectionsPerClient);
  // Upgrades (WebSocket) are not proxied: refuse them plainly instead of hanging.
  server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 501 Not Implemented\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'));

  const { host, port } = options.config.server;
  await listen(server, port, host, 'gateway port');
  const url = urlOf(server);

  // Redis is a shared cache the gateway can do without: its absence degrades, never unreadies.
  const readiness = (): Readiness => {
    const checks: Record<string, boolean> = { configuration: true, listening: server.listening };
    const ready = checks.listening;
    if (runtime.shared !== null) checks.redis = runtime.shared.ready;
    return { ready, degraded: checks.redis === false, checks };
  };
  const revoke = (token: string, announce = true) => revokeToken(runtime, token, announce);
  const adminHandlers: AdminHandlers = {
    ready: async () => readiness(),
    metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    revoke: (token) => revoke(token),
  };
  let admin: AdminServer | null = null;
  if (options.config.admin !== null && options.admin !== false) {
    admin = await startAdminServer(options.config.admin, adminHandlers).catch(async (error: unknown) => {
      // The gateway must not run half-started: without its admin port it is not what was configured.
      await new Promise((resolve) => server.close(resolve));
      await releaseRuntime(runtime);
      throw error;
    });
  }
  lifecycle('listening', { url, admin: admin?.url ?? null, routes: options.config.routes.length, validators: [...options.config.validators.keys()] });
  if (options.config.forwardAuth !== null && options.config.server.trustedProxies.length === 0) {
    logger.warn('forward-auth questions come from the gateway in front: set server.trustedProxies to its address, or every user is counted as that one client (clientLimits, invalidTokenRate)');
  }

  let closing: Promise<void> | null = null;
  return {
    url,
    adminUrl: admin?.url ?? null,
    logger,
    metrics,
    flushLogs: () => access.flush(),
    lifecycle,
    runtime: () => runtime,
    readiness,
    revoke,
    async reload(config) {
      const previous = runtime;
      runtime = createRuntime(config, logger, metrics, previous);
      applyConnectionLimits(server, config.server);
      lifecycle('configuration reloaded', { routes: config.routes.length, validators: [...config.validators.keys()] });
      // In-flight requests hold their own runtime reference; pool.close() waits for their calls.
      await releaseRuntime(previous);
    },
    close() {
      closing ??= (async () => {
        await drain(server, options.drainTimeoutMs ?? 10_000);
        await admin?.close();
        await releaseRuntime(runtime);
        lifecycle('stopped');
      })();
      return closing;
    },
  };
}

/** Stop accepting, close idle keep-alive connections, wait for the rest up to `timeoutMs`. */
async function drain(server: Server, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
  // Connections that finish a request while draining are closed as soon as they go idle.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  await closed;
  clearTimeout(timer);
  clearInterval(sweep);
}
