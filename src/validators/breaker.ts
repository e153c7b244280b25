/**
 * A circuit breaker per validator (Envoy's outlier detection, in small): after `threshold`
 * consecutive unavailable answers no call goes out for `cooldownMs`, so that a dead validator is
 * not buried under calls that would time out anyway; then one trial call decides whether it closes.
 *
 * It judges the validator's health, not one client's tokens: a failure after the request left
 * (a 5xx, a 429, a timeout, a reset) may be caused by the token itself, so within one run of
 * failures each client counts once, and no single client can open the circuit for everyone; nor
 * hold it open: a client whose call already failed in this run is never the trial, so each client
 * may only spend one trial per cooldown: after the cooldown, trials go out one at a time, a failed
 * trial's client is not asked again for a cooldown (then it may be: with fewer clients than
 * `threshold`, one behind a load balancer say, the validator must still get its trials), and the
 * circuit re-opens only once `threshold` clients' trials have failed (or one whose failure cannot
 * depend on its token). A failure before anything was sent (connection refused,
 * connect timeout) says nothing about any token and always counts.
 */
export type Admission = 'closed' | 'trial' | 'refused';

export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  #failures = 0;
  /** Clients already counted in the current run of failures. */
  readonly #failedClients = new Set<string>();
  #openUntil = 0;
  #trialInFlight = false;
  /** Clients whose trial failed since the cooldown ended, and when. */
  readonly #failedTrials = new Map<string, number>();

  /** `threshold` 0 disables the breaker. */
  constructor(threshold: number, cooldownMs: number) {
    this.#threshold = threshold;
    this.#cooldownMs = cooldownMs;
  }

  /**
   * May a call for `client` go out at `now`? `trial`: the one call that, after the cooldown,
   * decides whether the circuit closes (its outcome must be reported with `trial` true).
   */
  admit(now: number, client: string | null): Admission {
    if (this.#threshold === 0 || this.#failures < this.#threshold) return 'closed';
    if (now < this.#openUntil || this.#trialInFlight) return 'refused';
    if (client !== null && now < (this.#failedTrials.get(client) ?? -Infinity) + this.#cooldownMs) return 'refused';
    this.#trialInFlight = true;
    return 'trial';
  }

  /** Any answer the validator could give: it is healthy, the run of failures is over. */
  succeeded(trial: boolean): void {
    this.#failures = 0;
    this.#failedClients.clear();
    this.#failedTrials.clear();
    if (trial) this.#trialInFlight = false;
  }

  /** A failed call at `now`; `client` is whose request it was, `null` when the failure cannot depend on the token. */
  failed(now: number, client: string | null, trial: boolean): void {
    if (this.#threshold === 0) return;
    if (trial) {
      this.#trialInFlight = false;
      if (client !== null) this.#failedTrials.set(client, now);
      if (client === null || this.#failedTrials.size >= this.#threshold) this.#reopen(now);
      return;
    }
    if (client !== null) {
      if (this.#failedClients.has(client)) return; // counted once per run
      this.#failedClients.add(client);
    }
    this.#failures++;
    if (this.#failures >= this.#threshold) this.#openUntil = now + this.#cooldownMs;
  }

  #reopen(now: number): void {
    this.#openUntil = now + this.#cooldownMs;
    this.#failedTrials.clear();
  }

  /** Open: calls are refused right now. */
  isOpen(now: number): boolean {
    return this.#threshold > 0 && this.#failures >= this.#threshold && (now < this.#openUntil || this.#trialInFlight);
  }
}
