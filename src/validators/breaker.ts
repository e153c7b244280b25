/**
 * A circuit breaker per validator (Envoy's outlier detection, in small): after `threshold`
 * consecutive unavailable answers no call goes out for `cooldownMs`, so that a dead validator is
 * not buried under calls that would time out anyway; then one trial call decides whether it closes.
 *
 * It judges the validator's health, not one client's tokens: a failure after the request left
 * (a 5xx, a 429, a timeout, a reset) may be caused by the token itself, so within one run of
 * failures each client counts once, and no single client can open the circuit for everyone. A
 * failure before anything was sent (connection refused, connect timeout) says nothing about any
 * token and always counts.
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  #failures = 0;
  /** Clients already counted in the current run of failures (at most `threshold`). */
  readonly #failedClients = new Set<string>();
  #openUntil = 0;
  #trialInFlight = false;

  /** `threshold` 0 disables the breaker. */
  constructor(threshold: number, cooldownMs: number) {
    this.#threshold = threshold;
    this.#cooldownMs = cooldownMs;
  }

  /** May a call go out at `now`? When the cooldown is over, one trial call is let through. */
  admit(now: number): boolean {
    if (this.#threshold === 0 || this.#failures < this.#threshold) return true;
    if (now < this.#openUntil || this.#trialInFlight) return false;
    this.#trialInFlight = true;
    return true;
  }

  succeeded(): void {
    this.#failures = 0;
    this.#failedClients.clear();
    this.#trialInFlight = false;
  }

  /** A failed call at `now`; `client` is whose request it was, `null` when the failure cannot depend on the token. */
  failed(now: number, client: string | null): void {
    const trial = this.#trialInFlight;
    this.#trialInFlight = false;
    if (this.#threshold === 0) return;
    // A failed trial re-opens the circuit whoever sent it: the validator was already judged unwell.
    if (!trial && client !== null) {
      if (this.#failedClients.has(client)) return;
      this.#failedClients.add(client);
    }
    this.#failures++;
    if (this.#failures >= this.#threshold) this.#openUntil = now + this.#cooldownMs;
  }

  /** Open: calls are refused right now. */
  isOpen(now: number): boolean {
    return this.#threshold > 0 && this.#failures >= this.#threshold && (now < this.#openUntil || this.#trialInFlight);
  }
}
