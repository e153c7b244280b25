/**
 * The in-process cache: a bounded LRU per validator (`cache.maxEntries`), holding results until
 * their own `expiresAtMs`. `ttlSeconds: 0` and `negativeTtlSeconds: 0` together turn it off.
 */
import { LRUCache } from 'lru-cache';
import type { TokenResult } from './token-result.js';

export class ResultCache {
  readonly #entries: LRUCache<string, TokenResult>;

  constructor(maxEntries: number) {
    this.#entries = new LRUCache<string, TokenResult>({ max: maxEntries });
  }

  /** A result still usable at `nowMs`; an expired one is dropped on the way. */
  get(key: string, nowMs: number): TokenResult | undefined {
    const result = this.#entries.get(key);
    if (result === undefined) return undefined;
    if (result.expiresAtMs > nowMs) return result;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, result: TokenResult, nowMs: number): void {
    if (result.status !== 'unavailable' && result.expiresAtMs > nowMs) this.#entries.set(key, result);
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
