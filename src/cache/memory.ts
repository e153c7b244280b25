/**
 * The in-process cache: an LRU per validator, bounded in entries (`cache.maxEntries`) and in bytes
 * (`cache.maxBytes`: results differ in size, so a count alone bounds nothing). A result is fresh until
 * its `expiresAt` and kept until its `staleUntil` (later only with `onUnavailable: stale`).
 * `ttlSeconds: 0` and `negativeTtlSeconds: 0` together turn it off.
 */
import { LRUCache } from 'lru-cache';
import { expiresAtOf, staleUntilOf, type TokenResult } from './token-result.js';

/**
 * What one entry costs: the result and key strings (one byte a char, plus V8's string header) and
 * the LRU's own bookkeeping (measured by bench/memory.mjs at about 100 bytes an entry).
 */
const ENTRY_OVERHEAD_BYTES = 128;

function entryBytes(result: TokenResult, key: string): number {
  return result.length + key.length + ENTRY_OVERHEAD_BYTES;
}

export class ResultCache {
  readonly #entries: LRUCache<string, TokenResult>;
  /** Keys revoked recently, until when: a validation already on its way must not store them again. */
  readonly #revoked = new Map<string, number>();

  constructor(maxEntries: number, maxBytes: number) {
    this.#entries = new LRUCache<string, TokenResult>({ max: maxEntries, maxSize: maxBytes, sizeCalculation: entryBytes });
  }

  /** A fresh result at `now` (`clockNow()`); one past even its stale time is dropped on the way. */
  get(key: string, now: number): TokenResult | undefined {
    const result = this.#entries.get(key);
    if (result === undefined) return undefined;
    if (expiresAtOf(result) > now) return result;
    if (staleUntilOf(result) <= now) this.#entries.delete(key);
    return undefined;
  }

  /** A result past its freshness but still within its stale time, for when the validator is down. */
  getStale(key: string, now: number): TokenResult | undefined {
    const result = this.#entries.peek(key);
    return result !== undefined && staleUntilOf(result) > now ? result : undefined;
  }

  /**
   * Stores a judged result that is still usable at `now`; one of a token revoked meanwhile is
   * never stored. `true` when stored (and so fit to share with Redis).
   */
  set(key: string, result: TokenResult, now: number): boolean {
    if (staleUntilOf(result) <= now) return false;
    if (this.#revoked.size > 0 && this.#wasRevoked(key, now)) return false;
    this.#entries.set(key, result);
    return true;
  }

  /** Forgets `key`, and refuses to store it again for `quarantineMs` (calls in flight); `true` when a result was held. */
  revoke(key: string, now: number, quarantineMs: number): boolean {
    this.#revoked.set(key, now + quarantineMs);
    return this.#entries.delete(key);
  }

  #wasRevoked(key: string, now: number): boolean {
    for (const [revokedKey, until] of this.#revoked) if (until <= now) this.#revoked.delete(revokedKey);
    return this.#revoked.has(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
