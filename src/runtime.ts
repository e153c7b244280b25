/**
 * One configuration generation: the frozen configuration and everything built from it (validator
 * pools, caches and breakers, upstream pools, the Redis connection, per-route counters). A reload
 * builds a new one and swaps it in whole; requests in flight finish on the one they started with.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from './config/compile.js';
import { SharedCache } from './cache/redis.js';
import type { GatewayMetrics, RouteCounts } from './observability/metrics.js';
import type { Core } from './pipeline/index.js';
import { closeUpstreamPools, createUpstreamPools, type UpstreamPools } from './pipeline/proxy.js';
import { forgetRevokedKeys } from './pipeline/revoke.js';
import { closeValidatorStates, createValidatorStates } from './validators/state.js';

export interface Runtime extends Core {
  readonly upstreams: UpstreamPools;
  /** Request counters by route index. */
  readonly routeCounts: readonly RouteCounts[];
  /** Request counters of requests that matched no route. */
  readonly unroutedCounts: RouteCounts;
}

export function createRuntime(config: GatewayConfig, log: Logger, metrics: GatewayMetrics): Runtime {
  let runtime: Runtime | null = null;
  const shared =
    config.redis === null
      ? null
      : new SharedCache({ url: config.redis.url, timeoutMs: config.redis.timeoutMs, log, metrics, onRevoked: (keys) => runtime !== null && forgetRevokedKeys(runtime, keys) });
  runtime = {
    config,
    validators: createValidatorStates(config),
    upstreams: createUpstreamPools(config),
    log,
    metrics,
    shared,
    routeCounts: config.routes.map((route) => metrics.routeCounts(route.path)),
    unroutedCounts: metrics.routeCounts('(none)'),
  };
  return runtime;
}

export async function releaseRuntime(runtime: Runtime): Promise<void> {
  await Promise.all([closeValidatorStates(runtime.validators), closeUpstreamPools(runtime.upstreams), runtime.shared?.close()]);
}
