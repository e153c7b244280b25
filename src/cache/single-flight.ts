/**
 * Concurrent requests for the same uncached key share one pending call (SPEC section 6: exactly
 * one validator call), the way undici's deduplicate interceptor shares one request.
 */
export class SingleFlight<T> {
  readonly #pending = new Map<string, Promise<T>>();

  /** The pending call for `key`, or `undefined` when none is running. */
  get(key: string): Promise<T> | undefined {
    return this.#pending.get(key);
  }

  run(key: string, call: () => Promise<T>): Promise<T> {
    const pending = call().finally(() => this.#pending.delete(key));
    this.#pending.set(key, pending);
    return pending;
  }

  get size(): number {
    return this.#pending.size;
  }
}
