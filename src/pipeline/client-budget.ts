/**
 * What one client may spend of the validator, so that no client can spend it for everyone
 * (RFC 7662 §4: the gateway must not become a token-fishing oracle or an amplifier):
 *
 * - validator calls its new tokens may have in flight at once, and start per second (a token
 *   bucket); a call beyond either is refused with 429 at once, before any call is made;
 * - with `server.invalidTokenRate`, invalid tokens it may send per minute (a sliding window);
 *   beyond, every token of its that is not already known to be valid gets 429 without a call.
 *
 * Clients are counted by address (http/client-address.ts); the table is bounded, and a client
 * evicted from it simply starts afresh.
 */
import { LRUCache } from 'lru-cache';

interface ClientState {
  inFlight: number;
  /** Calls the client may still start now (token bucket, refilled continuously). */
  tokens: number;
  refilledAt: number;
  /** Start of the current one-minute window, and the invalid tokens counted in it and the one before. */
  windowStart: number;
  invalidNow: number;
  invalidBefore: number;
}

const WINDOW_MS = 60_000;
/** Distinct clients remembered at once. */
const MAX_CLIENTS = 100_000;

export interface ClientLimits {
  readonly validatorCallsInFlight: number;
  readonly validatorCallsPerSecond: number;
  /** `null`: invalid tokens are not limited. */
  readonly invalidTokensPerMinute: number | null;
}

export class ClientBudgets {
  readonly #limits: ClientLimits;
  readonly #clients = new LRUCache<string, ClientState>({ max: MAX_CLIENTS });

  constructor(limits: ClientLimits) {
    this.#limits = limits;
  }

  #state(client: string, now: number): ClientState {
    let state = this.#clients.get(client);
    if (state === undefined) {
      state = { inFlight: 0, tokens: this.#limits.validatorCallsPerSecond, refilledAt: now, windowStart: now, invalidNow: 0, invalidBefore: 0 };
      this.#clients.set(client, state);
    }
    return state;
  }

  /** May `client` start a validator call at `now` (ms)? When it may, the call is counted until `release`. */
  admitCall(client: string, now: number): boolean {
    const state = this.#state(client, now);
    const perSecond = this.#limits.validatorCallsPerSecond;
    state.tokens = Math.min(perSecond, state.tokens + ((now - state.refilledAt) / 1000) * perSecond);
    state.refilledAt = now;
    if (state.inFlight >= this.#limits.validatorCallsInFlight || state.tokens < 1) return false;
    state.tokens -= 1;
    state.inFlight++;
    return true;
  }

  #warnedAt = -Infinity;

  /** At most once a minute: whether to tell the operator that a client hit its budget (and why that may be a load balancer). */
  shouldWarn(now: number): boolean {
    if (now - this.#warnedAt < WINDOW_MS) return false;
    this.#warnedAt = now;
    return true;
  }

  release(client: string): void {
    const state = this.#clients.peek(client);
    if (state !== undefined && state.inFlight > 0) state.inFlight--;
  }

  get limitsInvalidTokens(): boolean {
    return this.#limits.invalidTokensPerMinute !== null;
  }

  /** Counts one invalid token sent by `client`. */
  recordInvalid(client: string, now: number): void {
    if (this.#limits.invalidTokensPerMinute === null) return;
    const state = this.#state(client, now);
    this.#roll(state, now);
    state.invalidNow++;
  }

  /** Has `client` sent more invalid tokens than allowed in the last minute (a sliding-window estimate)? */
  overInvalidRate(client: string, now: number): boolean {
    const limit = this.#limits.invalidTokensPerMinute;
    if (limit === null) return false;
    const state = this.#clients.peek(client);
    if (state === undefined) return false;
    this.#roll(state, now);
    const weightBefore = 1 - (now - state.windowStart) / WINDOW_MS;
    return state.invalidBefore * weightBefore + state.invalidNow > limit;
  }

  #roll(state: ClientState, now: number): void {
    const elapsed = now - state.windowStart;
    if (elapsed < WINDOW_MS) return;
    state.invalidBefore = elapsed < 2 * WINDOW_MS ? state.invalidNow : 0;
    state.invalidNow = 0;
    state.windowStart = now - (elapsed % WINDOW_MS);
  }
}
