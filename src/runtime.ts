/**
 * One configuration generation: the frozen configuration and everything built from it (validator
 * pools, caches and breakers, upstream pools, the Redis connection, per-route counters). A reload
 * builds a new one and swaps it in whole; requests in flight finish on the one they started with.
 */
import type { Logger } from 'pino';
import type { GatewayConfig, RouteConfig } from './config/compile.js';
import { SharedCache } from './cache/redis.js';
import type { FaceName } from './faces/exchange.js';
import { FormBudget } from './faces/form-inspection.js';
import { closeUpstreamPools, createUpstreamPools, type UpstreamPools } from './faces/upstream.js';
import type { GatewayMetrics, RequestCounts } from './observability/metrics.js';
import { createClientResolver, type ClientResolver } from './http/client-address.js';
import { ClientBudgets } from './pipeline/client-budget.js';
import type { Core } from './pipeline/index.js';
import { forgetRevokedKeys } from './pipeline/revoke.js';
import { closeValidatorStates, createValidatorStates } from './validators/state.js';

export interface Runtime extends Core {
  /** Who the client of a request is (trustedProxies). */
  readonly clientResolver: ClientResolver;
  /** Form bytes held while a form body is read before the decision. */
  readonly formBudget: FormBudget;
  /** The upstream pool of each proxied route, by route index. */
  readonly upstreams: UpstreamPools;
  /** The request counters of a face and route (`null`: no route matched). */
  counts(face: FaceName, route: RouteConfig | null): RequestCounts;
}

/** `previous`: the runtime this one replaces on a reload (its caches are kept where they still apply). */
export function createRuntime(config: GatewayConfig, log: Logger, metrics: GatewayMetrics, previous?: Runtime): Runtime {
  let runtime: Runtime | null = null;
  const shared =
    config.redis === null
      ? null
      : new SharedCache({ url: config.redis.url, timeoutMs: config.redis.timeoutMs, log, metrics, onRevoked: (keys) => runtime !== null && forgetRevokedKeys(runtime, keys) });
  runtime = {
    config,
    validators: createValidatorStates(config, previous?.validators),
    upstreams: createUpstreamPools(config),
    log,
    metrics,
    shared,
    counts: countsByRoute(config, metrics),
    clients: new ClientBudgets({ ...config.server.clientLimits, invalidTokensPerMinute: config.server.invalidTokensPerMinute }),
    clientResolver: createClientResolver(config.server.trustedProxies),
    formBudget: previous?.formBudget ?? new FormBudget(),
  };
  return runtime;
}

export async function releaseRuntime(runtime: Runtime): Promise<void> {
  await Promise.all([closeValidatorStates(runtime.validators), closeUpstreamPools(runtime.upstreams), runtime.shared?.close()]);
}

/** Counters resolved once per face and route, so that counting a request is an array index. */
function countsByRoute(config: GatewayConfig, metrics: GatewayMetrics): Runtime['counts'] {
  const byFace = new Map<FaceName, { routes: RequestCounts[]; none: RequestCounts }>();
  return (face, route) => {
    let counts = byFace.get(face);
    if (counts === undefined) {
      counts = { routes: config.routes.map((r) => metrics.requestCounts(face, r.path)), none: metrics.requestCounts(face, '(none)') };
      byFace.set(face, counts);
    }
    return route === null ? counts.none : counts.routes[route.index];
  };
}
