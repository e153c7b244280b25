/**
 * Prometheus metrics (prom-client, one registry per gateway). Per-request counts are plain numbers
 * bumped on the hot path and handed to prom-client only when /metrics is scraped: a labelled
 * prom-client `inc()` per request would cost about as much as the rest of a cache hit. The
 * validator call metrics (calls, latency) are observed directly, through label-bound children
 * looked up once per validator and status class (a labelled `observe()` hashes its labels per
 * call): they are on the miss path, once per request with caching off.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Outcome, Reason } from '../pipeline/reasons.js';

const OUTCOMES: readonly Outcome[] = ['allow', 'deny', 'error'];

/** Counts of one face and route (by path) per outcome, indexed like OUTCOMES. */
export type RequestCounts = Float64Array;

export type CacheEvent = 'memory_hit' | 'memory_miss' | 'redis_hit' | 'redis_miss' | 'joined' | 'stale';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #requests = new Map<string, { face: string; route: string; counts: RequestCounts }>();
  readonly #reasons = new Map<Reason, number>();
  readonly #cache: Record<CacheEvent, number> = { memory_hit: 0, memory_miss: 0, redis_hit: 0, redis_miss: 0, joined: 0, stale: 0 };
  readonly #errors = { redis: 0 };
  readonly #validatorCalls: Counter<'validator' | 'status_class'>;
  readonly #validatorSeconds: Histogram<'validator' | 'status_class'>;
  readonly #circuitOpen: Gauge<'validator'>;
  /** Per validator, by status class (index 0: no answer, else the first digit), the bound count and latency. */
  readonly #callsOf = new Map<string, ({ calls: Counter.Internal; seconds: Histogram.Internal<'validator' | 'status_class'> } | undefined)[]>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'tokengate_' });
    const requests = this.#requests;
    const reasons = this.#reasons;
    const cache = this.#cache;
    const errors = this.#errors;
    new Counter({
      name: 'tokengate_requests_total',
      help: 'Requests by face (proxy, forward-auth, validation-endpoint), route (path prefix; "(none)" when no route matched) and outcome.',
      labelNames: ['face', 'route', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const { face, route, counts } of requests.values()) OUTCOMES.forEach((outcome, i) => counts[i] > 0 && this.inc({ face, route, outcome }, counts[i]));
      },
    });
    new Counter({
      name: 'tokengate_denials_total',
      help: 'Denied or failed requests by stable reason id.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of reasons) this.inc({ reason }, count);
      },
    });
    new Counter({
      name: 'tokengate_cache_lookups_total',
      help: 'Token cache lookups by level (memory, redis) and result (hit, miss).',
      labelNames: ['level', 'result'],
      registers,
      collect() {
        this.reset();
        for (const level of ['memory', 'redis'] as const) {
          for (const result of ['hit', 'miss'] as const) this.inc({ level, result }, cache[`${level}_${result}`]);
        }
      },
    });
    new Counter({
      name: 'tokengate_singleflight_joins_total',
      help: 'Requests that joined a validator call already in flight for the same token.',
      registers,
      collect() {
        this.reset();
        this.inc(cache.joined);
      },
    });
    new Counter({
      name: 'tokengate_stale_served_total',
      help: 'Requests allowed on a stale result while the validator was unavailable (onUnavailable: stale).',
      registers,
      collect() {
        this.reset();
        this.inc(cache.stale);
      },
    });
    new Counter({
      name: 'tokengate_redis_errors_total',
      help: 'Redis commands that failed or did not answer in time (the gateway went on without Redis).',
      registers,
      collect() {
        this.reset();
        this.inc(errors.redis);
      },
    });
    this.#validatorCalls = new Counter({
      name: 'tokengate_validator_calls_total',
      help: 'Calls to validators by validator and answer status class (2xx, 3xx, 4xx, 5xx, or error: no answer).',
      labelNames: ['validator', 'status_class'],
      registers,
    });
    this.#validatorSeconds = new Histogram({
      name: 'tokengate_validator_duration_seconds',
      help: 'Validator call latency by validator and status class.',
      labelNames: ['validator', 'status_class'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#circuitOpen = new Gauge({ name: 'tokengate_validator_circuit_open', help: '1 while a validator\'s circuit breaker is open.', labelNames: ['validator'], registers });
  }

  /** The counters of a face and route path, shared by every route with that path and kept across reloads. */
  requestCounts(face: string, route: string): RequestCounts {
    const key = `${face}\0${route}`;
    let entry = this.#requests.get(key);
    if (entry === undefined) this.#requests.set(key, (entry = { face, route, counts: new Float64Array(OUTCOMES.length) }));
    return entry.counts;
  }

  request(counts: RequestCounts, outcome: Outcome, reason: Reason | null): void {
    counts[outcome === 'allow' ? 0 : outcome === 'deny' ? 1 : 2]++;
    if (reason !== null) this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
  }

  cache(event: CacheEvent): void {
    this.#cache[event]++;
  }

  redisError(): void {
    this.#errors.redis++;
  }

  validatorCall(validator: string, status: number | null, seconds: number): void {
    const index = status === null ? 0 : Math.floor(status / 100);
    let classes = this.#callsOf.get(validator);
    if (classes === undefined) this.#callsOf.set(validator, (classes = []));
    let bound = classes[index];
    if (bound === undefined) {
      const statusClass = index === 0 ? 'error' : `${index}xx`;
      bound = classes[index] = { calls: this.#validatorCalls.labels(validator, statusClass), seconds: this.#validatorSeconds.labels(validator, statusClass) };
    }
    bound.calls.inc();
    bound.seconds.observe(seconds);
  }

  circuit(validator: string, open: boolean): void {
    this.#circuitOpen.set({ validator }, open ? 1 : 0);
  }
}
