/**
 * A circuit breaker per validator (Envoy's outlier detection, in small): after `threshold`
 * consecutive unavailable answers no call goes out for `cooldownMs`, so that a dead validator is
 * not buried under calls that would time out anyway; then one trial call decides whether it closes.
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  #failures = 0;
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
    this.#trialInFlight = false;
  }

  failed(now: number): void {
    this.#failures++;
    this.#trialInFlight = false;
    if (this.#threshold > 0 && this.#failures >= this.#threshold) this.#openUntil = now + this.#cooldownMs;
  }

  /** Open: calls are refused right now. */
  isOpen(now: number): boolean {
    return this.#threshold > 0 && this.#failures >= this.#threshold && (now < this.#openUntil || this.#trialInFlight);
  }
}
