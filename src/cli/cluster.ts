/**
 * `serve --workers N`: a primary process and N gateway workers sharing the listening port
 * (node:cluster). The primary only supervises: it replaces a worker that dies, passes SIGHUP on
 * (after checking the new file itself), drains every worker on SIGTERM/SIGINT, and serves the
 * admin port for all of them (readiness of every worker, metrics summed across workers, revocation
 * sent to every worker).
 */
import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { GatewayConfig } from '../config/compile.js';
import { startAdminServer, type AdminServer } from '../observability/admin.js';
import { startGateway, type Gateway } from '../gateway.js';
import { handleSignals, reloadedConfig } from './gateway-process.js';

type Request =
  | { readonly type: 'tokengate:revoke'; readonly id: string; readonly token: string; readonly announce: boolean }
  | { readonly type: 'tokengate:readiness'; readonly id: string };
type Reply =
  | { readonly type: 'tokengate:reply'; readonly id: string; readonly body: Record<string, unknown> }
  | { readonly type: 'tokengate:ready' }
  /** The worker cannot start (a port it cannot have): the primary stops everything and exits 1. */
  | { readonly type: 'tokengate:failed'; readonly message: string };

/** A worker that exits sooner than this after starting is crashing: the next one waits a little. */
const CRASH_LOOP_MS = 2_000;

export async function runPrimary(file: string, config: GatewayConfig, count: number): Promise<void> {
  const log: Logger = pino({ base: { pid: process.pid, role: 'primary' } });
  const ready = new Set<number>();
  const pending = new Map<string, { replies: Record<string, unknown>[]; expected: number; done: (replies: Record<string, unknown>[]) => void }>();
  let stopping = false;
  // The workers share the listening socket and accept for themselves. With Node's default
  // round-robin the primary accepts and hands each connection over, and one handed to a worker
  // that has just died is never answered (nodejs/node-v0.x-archive#7928).
  cluster.schedulingPolicy = cluster.SCHED_NONE;

  const fork = (): void => {
    const worker = cluster.fork();
    const started = Date.now();
    worker.on('message', (message: Reply) => {
      if (message.type === 'tokengate:ready') {
        ready.add(worker.id);
        log.info({ worker: worker.id, workerPid: worker.process.pid }, 'worker ready');
      } else if (message.type === 'tokengate:failed') {
        failed(message.message);
      } else if (message.type === 'tokengate:reply') {
        const waiting = pending.get(message.id);
        if (waiting === undefined) return;
        waiting.replies.push(message.body);
        if (waiting.replies.length === waiting.expected) waiting.done(waiting.replies);
      }
    });
    worker.on('exit', (code, signal) => {
      ready.delete(worker.id);
      if (stopping) return;
      log.error({ worker: worker.id, workerPid: worker.process.pid, code, signal }, 'worker died; starting another');
      setTimeout(fork, Date.now() - started < CRASH_LOOP_MS ? 1_000 : 0);
    });
  };
  /** Sends a request to every live worker and gathers their replies (bounded wait). */
  const ask = (make: (id: string, index: number) => Request): Promise<Record<string, unknown>[]> => {
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
    const id = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(entry.replies);
      }, 2_000);
      const entry = {
        replies: [] as Record<string, unknown>[],
        expected: workers.length,
        done: (replies: Record<string, unknown>[]) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(replies);
        },
      };
      pending.set(id, entry);
      if (workers.length === 0) entry.done([]);
      workers.forEach((worker, index) => worker.send(make(id, index)));
    });
  };

  let admin: AdminServer | null = null;
  if (config.admin !== null) {
    const aggregator = new AggregatorRegistry();
    admin = await startAdminServer(config.admin, {
      async ready() {
        const replies = await ask((id) => ({ type: 'tokengate:readiness', id }));
        const checks: Record<string, boolean> = { workers: ready.size === count && replies.length === count };
        replies.forEach((reply, i) => (checks[`worker ${i + 1}`] = reply.ready === true));
        return { ready: Object.values(checks).every(Boolean), degraded: replies.some((reply) => reply.degraded === true), checks };
      },
      metrics: async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() }),
      // One worker also deletes the token from Redis and tells the other instances.
      revoke: async (token) => {
        const replies = await ask((id, index) => ({ type: 'tokengate:revoke', id, token, announce: index === 0 }));
        const forgotten = replies.reduce((sum, reply) => sum + (typeof reply.forgotten === 'number' ? reply.forgotten : 0), 0);
        return { forgotten, workers: replies.length, everywhere: replies.some((reply) => reply.everywhere === true) };
      },
    });
  }
  for (let i = 0; i < count; i++) fork();
  log.info({ workers: count, admin: admin?.url ?? null }, 'primary started');

  process.on('SIGHUP', () => {
    void reloadedConfig(file, log).then((next) => {
      if (next === null) return;
      log.info('configuration valid; reloading every worker');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
    });
  });
  /** Every worker stopped (drained, then killed after 15 s), the admin server closed, then exit `code`. */
  const shutDown = (code: number) => {
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exits = workers.map((worker) => new Promise<void>((resolve) => (worker.isDead() ? resolve() : worker.once('exit', () => resolve()))));
    for (const worker of workers) worker.process.kill('SIGTERM');
    const deadline = setTimeout(() => workers.forEach((worker) => worker.process.kill('SIGKILL')), 15_000);
    void Promise.all(exits)
      .then(() => admin?.close())
      .then(() => {
        clearTimeout(deadline);
        log.info({ code }, 'stopped');
        process.exit(code);
      });
  };
  function failed(message: string): void {
    if (stopping) return;
    stopping = true;
    log.error({ err: message }, 'a worker cannot start; stopping every worker');
    process.stderr.write(`tokengate serve: ${message}\n`);
    shutDown(1);
  }
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining workers');
    shutDown(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

export async function serveAsWorker(file: string, config: GatewayConfig): Promise<void> {
  let gateway: Gateway;
  try {
    gateway = await startGateway({ config, admin: false, logBindings: { worker: cluster.worker?.id } });
  } catch (error) {
    // The primary says why (once, not once per worker) and stops every worker.
    process.send?.({ type: 'tokengate:failed', message: (error as Error).message } satisfies Reply, () => process.exit(1));
    return;
  }
  // prom-client answers the primary's metrics requests only once an AggregatorRegistry exists here.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([gateway.metrics.registry]);
  handleSignals(gateway, file);
  process.on('message', (message: Request) => {
    const reply = (body: Record<string, unknown>) => process.send?.({ type: 'tokengate:reply', id: message.id, body } satisfies Reply);
    if (message.type === 'tokengate:readiness') {
      reply({ ...gateway.readiness() });
    } else if (message.type === 'tokengate:revoke') {
      gateway.revoke(message.token, message.announce).then(
        (result) => reply({ ...result }),
        (error: Error) => reply({ error: error.message }),
      );
    }
  });
  process.send?.({ type: 'tokengate:ready' } satisfies Reply);
}
