/**
 * The in-process cache: a bounded LRU per validator (`cache.maxEntries`), holding results until
 * their own `expiresAt`. `ttlSeconds: 0` and `negativeTtlSeconds: 0` together turn it off.
 */
import { LRUCache } from 'lru-cache';
import { denialOf, expiresAtOf, isUnavailable, type TokenResult } from './token-result.js';

export class ResultCache {
  readonly #entries: LRUCache<string, TokenResult>;

  constructor(maxEntries: number) {
    this.#entries = new LRUCache<string, TokenResult>({ max: maxEntries });
  }

  /** A result still usable at `now` (`clockNow()`); an expired one is dropped on the way. */
  get(key: string, now: number): TokenResult | undefined {
    const result = this.#entries.get(key);
    if (result === undefined) return undefined;
    if (expiresAtOf(result) > now) return result;
    this.#entries.delete(key);
    return undefined;
  }

  /** Stores a judged result that is still usable at `now`; an unavailable one is never stored. */
  set(key: string, result: TokenResult, now: number): void {
    if (!isUnavailable(denialOf(result)) && expiresAtOf(result) > now) this.#entries.set(key, result);
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
