/**
 * The in-process cache: an LRU per validator, bounded in entries (`cache.maxEntries`) and in bytes
 * (`cache.maxBytes`: results differ in size, so a count alone bounds nothing). A result is fresh until
 * its `expiresAt` and kept until its `staleUntil` (later only with `onUnavailable: stale`).
 * `ttlSeconds: 0` and `negativeTtlSeconds: 0` together turn it off.
 *
 * A million results must fit in a small process (bench/memory.mjs), so no part of an entry is a
 * JavaScript object or string: a V8 string costs a 16-byte header and is rounded up to 8, a Map entry
 * or an array slot costs 8-byte pointers, and whatever lives in V8's old space shares its pages with
 * the garbage of the requests that made it (fragmentation that RSS counts). Each entry is one record
 * in an arena of segments outside the heap:
 *
 *   bytes 0..15   the first 16 bytes of its SHA-256 key (see KEY_BYTES), four 32-bit words
 *   bytes 16..19  the next older entry in the recency list (an address, below)
 *   bytes 20..23  the next newer entry
 *   bytes 24..27  the next entry in its hash bucket
 *   bytes 28..29  the stored length (little-endian, 14 bits; LARGE in a record of its own segment,
 *                 whose size then says it), SHORT (bit 14), DEAD (bit 15: a deleted record)
 *   bytes 30..    the result, one byte a char (a TokenResult is a byte string); SHORT: without its
 *                 bytes 7..15 (staleUntil equal to expiresAt, no claims: most results), put back on
 *                 the way out
 *
 * padded to 4 bytes. An address is `segment << 14 | word offset`; address 0 is the recency list's
 * sentinel (a ring: its `older` is the most recently used, its `newer` the least), so linking and
 * unlinking never branch on the ends, and 0 ends a bucket. The hash table is one `Int32Array` of
 * bucket heads, at most one entry per bucket on average: the key is already a uniform hash, its first
 * word picks the bucket.
 *
 * Records are appended to the head segment. A deleted record leaves a dead gap; once dead bytes (past
 * a segment's worth, which the head may hold) are over a quarter of all written, the segment with the
 * largest dead share is evacuated (its live records appended to the head, the pointers to them
 * patched) and becomes a spare. So what is written is at most 4/3 of the live records and a segment,
 * for at most three bytes copied per byte reclaimed; a segment's unused end is under a record, so
 * under a sixteenth of it with 64 KiB segments (a quarter for the smallest caches). Under LRU
 * eviction the oldest segments mostly empty on their own and are reused without a copy.
 *
 * A hit materialises the result as a new string, one copy of its bytes (`latin1Slice`, see #result;
 * a young-generation string that dies with its request): some 50 ns of the 150 ns a hit on a hot key
 * costs (`bench/memory.mjs --hits`; lru-cache's hit, which returned the stored string, was about
 * 65 ns). The freshness check reads the times in place, so an expired entry costs no string.
 */
import { type TokenResult } from './token-result.js';

/**
 * The in-memory key is the first 128 bits of the 32-byte SHA-256 key (key.ts), not all 256: it halves
 * the key's cost and, with it, the cache's. A collision of two truncated keys would serve one token's
 * cached result (its identity) for another token, so it must be out of reach. It is: nobody chooses
 * the other token's key (it is the digest of a token the authorization server issued to someone else,
 * which the attacker does not know), so forging a token whose truncated key matches one already cached
 * is a second preimage of a 128-bit truncation of SHA-256, about 2^128 work; with N results cached, a
 * target among N, still 2^128 / N (2^108 for a million). A chance collision among honest tokens needs
 * about 2^64 of them in one cache of at most `maxEntries`. Truncating SHA-256 is sound (SHA-512/256
 * and NIST SP 800-107 rely on it). Logged fingerprints (key.ts) and Redis keys (redis.ts) are unchanged
 * and callers still pass the full 32-byte key: only this index keeps fewer bits.
 */
export const KEY_BYTES = 16;

const OLDER = 4;
const NEWER = 5;
const CHAIN = 6;
/** Byte offset of the length field, and of the stored result. */
const LENGTH_AT = 28;
const HEADER_BYTES = 30;
const LENGTH_MASK = 0x3fff;
const LARGE = LENGTH_MASK;
const SHORT = 0x4000;
const DEAD = 0x8000;
/** What SHORT leaves out: result bytes 7..15 (staleUntil and the claims' length). */
const SHORTENED_BY = 9;
const OFFSET_BITS = 14;
const OFFSET_MASK = (1 << OFFSET_BITS) - 1;
/** Segment ids fit in the 18 bits above the word offset. */
const MAX_SEGMENTS = 1 << (32 - OFFSET_BITS);
const MAX_SEGMENT_BYTES = 4 << OFFSET_BITS;
/** A larger bound is taken as this one, so that segment ids cannot run out (2 GiB is some 20 million results). */
const MAX_BYTES = 2 ** 31;
/** Segments are cut from chunks this large (see #newSegment). */
const CHUNK_BYTES = 32 * 2 ** 20;
/** What a record of its own segment costs besides its bytes: the ArrayBuffer and its two views on the heap, malloc's header. */
const LARGE_OVERHEAD_BYTES = 320;
/** The smallest record: a header and the shortened 16-byte head every result has (token-result.ts). */
const MIN_RECORD_BYTES = 40;
/** Buckets allocated up front, at most: more are added by doubling (and rehashing) only past a million entries. */
const MAX_INITIAL_BUCKETS = 1 << 20;

const NO_WORDS = new Int32Array(0);
const NOT_LATIN1 = /[^\x00-\xff]/;

/** Node's own latin1 copies in and out of a Buffer, under `toString('latin1', …)` and `write(…, 'latin1')`, without their argument checks. */
interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  latin1Write(text: string, offset: number, length: number): number;
}

const NO_BYTES = Buffer.alloc(0) as Latin1Buffer;

/** Bytes `at .. at+3` of a key as one 32-bit word (0 past its end). */
function word(key: string, at: number): number {
  return (key.charCodeAt(at) << 24) | (key.charCodeAt(at + 1) << 16) | (key.charCodeAt(at + 2) << 8) | key.charCodeAt(at + 3);
}

/** A 48-bit big-endian time at `at` (token-result.ts writes them so). */
function time48(bytes: Buffer, at: number): number {
  return ((bytes[at] << 8) | bytes[at + 1]) * 2 ** 32 + (((bytes[at + 2] << 24) | (bytes[at + 3] << 16) | (bytes[at + 4] << 8) | bytes[at + 5]) >>> 0);
}

/** The 48-bit time at `from` of a result string. */
function readTime(result: string, from: number): number {
  let at = 0;
  for (let i = from; i < from + 6; i++) at = at * 256 + result.charCodeAt(i);
  return at;
}

/** Can the result be stored SHORT: staleUntil (7..12) equal to expiresAt (1..6), a claims length (13..15) of 0? */
function shortens(result: string): boolean {
  if (result.length < 16) return false;
  for (let i = 1; i < 7; i++) if (result.charCodeAt(i) !== result.charCodeAt(i + 6)) return false;
  return result.charCodeAt(13) === 0 && result.charCodeAt(14) === 0 && result.charCodeAt(15) === 0;
}

function recordBytes(stored: number): number {
  return (HEADER_BYTES + stored + 3) & ~3;
}

export class ResultCache {
  readonly #maxEntries: number;
  /** What entries may cost: the byte bound less the hash table. */
  #budget: number;
  readonly #segmentBytes: number;
  /** Records larger than this (a sixteenth of a segment, 1 KiB at least, more for bounds over 512 MiB) get a segment of their own. */
  readonly #largeBytes: number;
  readonly #chunkBytes: number;

  /** Per segment: its words and bytes (the same memory), bytes written, bytes of live records, whether it is a large record's. Segment 0 is the sentinel. */
  readonly #words: Int32Array[] = [new Int32Array(8)];
  readonly #bytes: Latin1Buffer[] = [Buffer.alloc(32) as Latin1Buffer];
  readonly #used: number[] = [0];
  readonly #live: number[] = [0];
  readonly #large: boolean[] = [false];
  /** Segment ids without memory (a large record's, freed), and segments cut from chunks not in use. */
  readonly #freeIds: number[] = [];
  readonly #spare: number[] = [];
  /** The chunk segments are being cut from, and how much of it is cut. */
  #chunk: ArrayBuffer | undefined;
  #chunkUsed = 0;
  /** The segment records are appended to; 0: none yet. */
  #head = 0;
  /** Bytes written to segments in use, and how many of them are dead records. */
  #written = 0;
  #dead = 0;
  /** Bytes of segments ever cut from chunks (in use or spare) and of large records with their overhead. */
  #arena = 0;

  #buckets: Int32Array;
  #mask: number;
  #size = 0;
  /** What the entries cost, as the byte bound counts it. */
  #cost = 0;

  /** Keys (their first 16 bytes, as stored) revoked recently, until when: a validation already on its way must not store them again. */
  readonly #revoked = new Map<string, number>();

  constructor(maxEntries: number, maxBytes: number) {
    this.#maxEntries = Math.max(1, Math.floor(maxEntries));
    const bytes = Math.min(maxBytes, MAX_BYTES);
    // A segment is a small part of the bound: 4 KiB for the smallest caches, 64 KiB from 4 MiB up.
    this.#segmentBytes = Math.min(MAX_SEGMENT_BYTES, Math.max(1 << 12, 2 ** Math.ceil(Math.log2(bytes / 64))));
    // Large enough that large records cannot use up the segment ids (2^17 of them at most), and small
    // enough for the 14-bit length.
    this.#largeBytes = Math.min(1 << 14, Math.max(1024, this.#segmentBytes / 16, 2 ** Math.ceil(Math.log2(bytes / 2 ** 17))));
    this.#chunkBytes = Math.min(CHUNK_BYTES, Math.max(this.#segmentBytes * 8, 2 ** Math.ceil(Math.log2(bytes))));
    let buckets = 1;
    while (buckets < Math.min(this.#maxEntries, bytes / MIN_RECORD_BYTES, MAX_INITIAL_BUCKETS)) buckets *= 2;
    this.#buckets = new Int32Array(buckets);
    this.#mask = buckets - 1;
    this.#budget = bytes - this.#buckets.byteLength;
  }

  /**
   * A fresh result at `now` (`clockNow()`); one past even its stale time is dropped on the way. One
   * found and kept (fresh, or within its stale time) becomes the most recently used.
   */
  get(key: string, now: number): TokenResult | undefined {
    return this.#lookup(key, now, true);
  }

  /** A result past its freshness but still within its stale time, for when the validator is down; recency is left alone. */
  getStale(key: string, now: number): TokenResult | undefined {
    return this.#lookup(key, now, false);
  }

  #lookup(key: string, now: number, fresh: boolean): TokenResult | undefined {
    const address = this.#find(key);
    if (address === 0) return undefined;
    const segment = address >>> OFFSET_BITS;
    const bytes = this.#bytes[segment];
    const at = ((address & OFFSET_MASK) << 2) + HEADER_BYTES;
    const field = bytes[at - 2] | (bytes[at - 1] << 8);
    if (time48(bytes, (field & SHORT) === 0 ? at + 7 : at + 1) <= now) {
      if (fresh) this.#delete(address);
      return undefined;
    }
    if (!fresh) return this.#result(segment, bytes, at, field);
    this.#touch(address);
    return time48(bytes, at + 1) > now ? this.#result(segment, bytes, at, field) : undefined;
  }

  /**
   * Stores a judged result that is still usable at `now`, as the most recently used, evicting the
   * least recently used until both bounds hold. `false` (not stored) for one of a token revoked
   * meanwhile, and for one that can never be stored (costing more than the whole byte bound, or not
   * a byte string), which also drops the key's older result. `true` when stored (and so fit to share
   * with Redis).
   */
  set(key: string, result: TokenResult, now: number): boolean {
    if (readTime(result, 7) <= now) return false;
    if (this.#revoked.size > 0 && this.#wasRevoked(key, now)) return false;
    const old = this.#find(key);
    if (old !== 0) this.#delete(old);
    const short = shortens(result);
    const stored = short ? result.length - SHORTENED_BY : result.length;
    const record = recordBytes(stored);
    const large = record > this.#largeBytes;
    const cost = this.#costOf(record);
    if (cost > this.#budget || NOT_LATIN1.test(result)) return false;
    this.#evict(cost);
    if (this.#size >= this.#buckets.length) {
      this.#growBuckets();
      this.#evict(cost);
    }
    const address = large ? this.#allocateLarge(HEADER_BYTES + stored) : this.#allocate(record);
    const segment = address >>> OFFSET_BITS;
    const words = this.#words[segment];
    const offset = address & OFFSET_MASK;
    const k0 = word(key, 0);
    words[offset] = k0;
    words[offset + 1] = word(key, 4);
    words[offset + 2] = word(key, 8);
    words[offset + 3] = word(key, 12);
    const bucket = k0 & this.#mask;
    words[offset + CHAIN] = this.#buckets[bucket];
    this.#buckets[bucket] = address;
    const bytes = this.#bytes[segment];
    const at = (offset << 2) + HEADER_BYTES;
    const field = (large ? LARGE : stored) | (short ? SHORT : 0);
    bytes[at - 2] = field & 0xff;
    bytes[at - 1] = field >>> 8;
    if (short) {
      bytes.latin1Write(result, at, 7);
      bytes.latin1Write(result.slice(7 + SHORTENED_BY), at + 7, stored - 7);
    } else {
      bytes.latin1Write(result, at, stored);
    }
    this.#link(address);
    this.#size++;
    this.#cost += cost;
    return true;
  }

  /** Forgets `key`, and refuses to store it again for `quarantineMs` (calls in flight); `true` when a result was held. */
  revoke(key: string, now: number, quarantineMs: number): boolean {
    // Deleted and set again: the map stays in the order of the times it holds (near enough, see #wasRevoked).
    const id = key.slice(0, KEY_BYTES);
    this.#revoked.delete(id);
    this.#revoked.set(id, now + quarantineMs);
    const address = this.#find(key);
    if (address === 0) return false;
    this.#delete(address);
    return true;
  }

  get size(): number {
    return this.#size;
  }

  /** What the entries cost, as the byte bound counts it (the bound also counts the hash table, apart). */
  get bytes(): number {
    return this.#cost;
  }

  /** The bytes the byte bound leaves to entries: `maxBytes` less the hash table. */
  get budget(): number {
    return this.#budget;
  }

  /**
   * What storing `result` costs against the byte bound: its record (the 30-byte header and its bytes,
   * less a SHORT head's nine, padded to 4), or, over a quarter of a segment, its own segment rounded
   * up to 16 and that segment's overhead.
   */
  cost(result: TokenResult): number {
    return this.#costOf(recordBytes(shortens(result) ? result.length - SHORTENED_BY : result.length));
  }

  /** What the cache really holds: its segments (live records, dead gaps, unused ends, spares) and its hash table. */
  get heldBytes(): number {
    return this.#arena + this.#buckets.byteLength;
  }

  /**
   * Every entry as [its 16-byte key, one char a byte; its result], least recently used first, without
   * touching recency: for tests that look at what is kept, and in which order.
   */
  *entries(): IterableIterator<[string, TokenResult]> {
    for (let address = this.#words[0][NEWER]; address !== 0; ) {
      const segment = address >>> OFFSET_BITS;
      const words = this.#words[segment];
      const bytes = this.#bytes[segment];
      const offset = address & OFFSET_MASK;
      const at = (offset << 2) + HEADER_BYTES;
      let key = '';
      for (let w = 0; w < KEY_BYTES / 4; w++) {
        const value = words[offset + w];
        key += String.fromCharCode(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
      }
      const next = words[offset + NEWER];
      yield [key, this.#result(segment, bytes, at, bytes[at - 2] | (bytes[at - 1] << 8))];
      address = next;
    }
  }

  #wasRevoked(key: string, now: number): boolean {
    // Expired quarantines leave from the front; one out of order only waits for those before it.
    for (const [revokedKey, until] of this.#revoked) {
      if (until > now) break;
      this.#revoked.delete(revokedKey);
    }
    const until = this.#revoked.get(key.slice(0, KEY_BYTES));
    return until !== undefined && until > now;
  }

  /** The address of the record of `key`, or 0. */
  #find(key: string): number {
    const k0 = word(key, 0);
    for (let address = this.#buckets[k0 & this.#mask]; address !== 0; ) {
      const words = this.#words[address >>> OFFSET_BITS];
      const offset = address & OFFSET_MASK;
      if (words[offset] === k0 && words[offset + 1] === word(key, 4) && words[offset + 2] === word(key, 8) && words[offset + 3] === word(key, 12)) return address;
      address = words[offset + CHAIN];
    }
    return 0;
  }

  /**
   * The result stored at byte `at` of `segment`, as a new string: one `latin1Slice` (a memcpy into a
   * new one-byte string). A SHORT one gets its head back first, written over the 9 header bytes
   * before it and its own first 7, which are put back after: still one copy.
   */
  #result(segment: number, bytes: Latin1Buffer, at: number, field: number): TokenResult {
    const stored = (field & LENGTH_MASK) === LARGE ? this.#used[segment] - HEADER_BYTES : field & LENGTH_MASK;
    if ((field & SHORT) === 0) return bytes.latin1Slice(at, at + stored) as TokenResult;
    // Header bytes 21..29 are the newer link's last three, the chain, the length field.
    const words = this.#words[segment];
    const offset = (at - HEADER_BYTES) >>> 2;
    const newer = words[offset + NEWER];
    const chain = words[offset + CHAIN];
    const code = bytes[at];
    const e0 = bytes[at + 1];
    const e1 = bytes[at + 2];
    const e2 = bytes[at + 3];
    const e3 = bytes[at + 4];
    const e4 = bytes[at + 5];
    const e5 = bytes[at + 6];
    const from = at - SHORTENED_BY;
    bytes[from] = code;
    bytes[from + 1] = bytes[from + 7] = e0;
    bytes[from + 2] = bytes[from + 8] = e1;
    bytes[from + 3] = bytes[from + 9] = e2;
    bytes[from + 4] = bytes[from + 10] = e3;
    bytes[from + 5] = bytes[from + 11] = e4;
    bytes[from + 6] = bytes[from + 12] = e5;
    bytes[from + 13] = bytes[from + 14] = bytes[from + 15] = 0;
    const result = bytes.latin1Slice(from, at + stored) as TokenResult;
    words[offset + NEWER] = newer;
    words[offset + CHAIN] = chain;
    bytes[at - 2] = field & 0xff;
    bytes[at - 1] = field >>> 8;
    bytes[at] = code;
    bytes[at + 1] = e0;
    bytes[at + 2] = e1;
    bytes[at + 3] = e2;
    bytes[at + 4] = e3;
    bytes[at + 5] = e4;
    bytes[at + 6] = e5;
    return result;
  }

  #costOf(record: number): number {
    return record > this.#largeBytes ? ((record + 15) & ~15) + LARGE_OVERHEAD_BYTES : record;
  }

  /** Evicts the least recently used until one more entry costing `cost` fits both bounds. */
  #evict(cost: number): void {
    while (this.#size >= this.#maxEntries || this.#cost + cost > this.#budget) this.#delete(this.#words[0][NEWER]);
  }

  /** Unlinks the record at `address` from its bucket and the recency list, and frees it. */
  #delete(address: number): void {
    const segment = address >>> OFFSET_BITS;
    const words = this.#words[segment];
    const offset = address & OFFSET_MASK;
    this.#unchain(words[offset] & this.#mask, address, words[offset + CHAIN]);
    this.#unlink(address);
    this.#size--;
    const bytes = this.#bytes[segment];
    const at = (offset << 2) + LENGTH_AT;
    const stored = (bytes[at] | (bytes[at + 1] << 8)) & LENGTH_MASK;
    if (stored === LARGE) {
      this.#cost -= this.#costOf(recordBytes(this.#used[segment] - HEADER_BYTES));
      this.#release(segment);
      return;
    }
    const record = recordBytes(stored);
    this.#cost -= record;
    bytes[at + 1] |= DEAD >>> 8;
    this.#live[segment] -= record;
    this.#dead += record;
    if (this.#live[segment] === 0 && segment !== this.#head) this.#release(segment);
    else if ((this.#dead - this.#segmentBytes) * 4 > this.#written) this.#compact();
  }

  /** Points whatever in `bucket`'s chain points at `address` at `next` instead. */
  #unchain(bucket: number, address: number, next: number): void {
    let at = this.#buckets[bucket];
    if (at === address) {
      this.#buckets[bucket] = next;
      return;
    }
    for (;;) {
      const words = this.#words[at >>> OFFSET_BITS];
      const offset = at & OFFSET_MASK;
      at = words[offset + CHAIN];
      if (at === address) {
        words[offset + CHAIN] = next;
        return;
      }
    }
  }

  /**
   * Dead bytes past the head's possible share over a quarter of all written: evacuates the segment
   * with the largest dead share (then over a quarter too), until they are not.
   */
  #compact(): void {
    while ((this.#dead - this.#segmentBytes) * 4 > this.#written) {
      let worst = 0;
      for (let segment = 1; segment < this.#used.length; segment++) {
        if (segment === this.#head || this.#live[segment] === this.#used[segment]) continue;
        if (worst === 0 || (this.#used[segment] - this.#live[segment]) * this.#used[worst] > (this.#used[worst] - this.#live[worst]) * this.#used[segment]) worst = segment;
      }
      if (worst === 0) return;
      this.#evacuate(worst);
    }
  }

  /** Moves every live record of `segment` to the head, then frees it. */
  #evacuate(segment: number): void {
    const bytes = this.#bytes[segment];
    const used = this.#used[segment];
    for (let at = 0; at < used; ) {
      const field = bytes[at + LENGTH_AT] | (bytes[at + LENGTH_AT + 1] << 8);
      const record = recordBytes(field & LENGTH_MASK);
      if ((field & DEAD) === 0) this.#move((segment << OFFSET_BITS) | (at >>> 2), record);
      at += record;
    }
    this.#release(segment);
  }

  /** Copies the record at `from` to the head, and points its bucket and its recency neighbours at the copy. */
  #move(from: number, record: number): void {
    const to = this.#allocate(record);
    const source = from >>> OFFSET_BITS;
    const start = (from & OFFSET_MASK) << 2;
    const target = to >>> OFFSET_BITS;
    this.#bytes[source].copy(this.#bytes[target], (to & OFFSET_MASK) << 2, start, start + record);
    this.#live[source] -= record;
    const words = this.#words[target];
    const offset = to & OFFSET_MASK;
    this.#unchain(words[offset] & this.#mask, from, to);
    this.#setNewer(words[offset + OLDER], to);
    this.#setOlder(words[offset + NEWER], to);
  }

  /** Room for a record of `record` bytes at the end of the head segment, opening a new head when it is full. */
  #allocate(record: number): number {
    if (this.#head === 0 || this.#used[this.#head] + record > this.#segmentBytes) {
      const full = this.#head;
      this.#head = this.#newSegment(this.#segmentBytes, false);
      if (full !== 0 && this.#live[full] === 0) this.#release(full);
    }
    const segment = this.#head;
    const address = (segment << OFFSET_BITS) | (this.#used[segment] >>> 2);
    this.#used[segment] += record;
    this.#live[segment] += record;
    this.#written += record;
    return address;
  }

  /** A segment of its own for a record of exactly `bytes` bytes (its stored length is then the segment's size less the header). */
  #allocateLarge(bytes: number): number {
    const segment = this.#newSegment(bytes, true);
    this.#used[segment] = bytes;
    this.#live[segment] = bytes;
    this.#written += bytes;
    return segment << OFFSET_BITS;
  }

  /**
   * A segment: a spare, or one cut from the current chunk (a new chunk when it is used up); a large
   * record's is an `ArrayBuffer` of its own. Chunks are 32 MiB from a 32 MiB bound up so that malloc
   * maps each apart (glibc mmaps what is over its threshold, which grows to 32 MiB at most): segments
   * from malloc's heap would share its pages with the freed buffers of requests, fragmentation that
   * RSS counts. Only the pages of a chunk that segments were cut from are touched.
   */
  #newSegment(bytes: number, large: boolean): number {
    if (!large && this.#spare.length > 0) return this.#spare.pop()!;
    const segment = this.#freeIds.pop() ?? this.#used.length;
    if (segment >= MAX_SEGMENTS) throw new Error('result cache: out of segments');
    let memory: ArrayBuffer;
    let at = 0;
    if (large) {
      memory = new ArrayBuffer(bytes);
      this.#arena += bytes + LARGE_OVERHEAD_BYTES;
    } else {
      if (this.#chunk === undefined || this.#chunkUsed + bytes > this.#chunk.byteLength) {
        this.#chunk = new ArrayBuffer(this.#chunkBytes);
        this.#chunkUsed = 0;
      }
      memory = this.#chunk;
      at = this.#chunkUsed;
      this.#chunkUsed += bytes;
      this.#arena += bytes;
    }
    this.#words[segment] = new Int32Array(memory, at, large ? HEADER_BYTES >>> 2 : bytes >>> 2);
    this.#bytes[segment] = Buffer.from(memory, at, bytes) as Latin1Buffer;
    this.#used[segment] = 0;
    this.#live[segment] = 0;
    this.#large[segment] = large;
    return segment;
  }

  /** Frees a segment: a large record's memory goes, a segment of a chunk becomes a spare. */
  #release(segment: number): void {
    this.#written -= this.#used[segment];
    this.#dead -= this.#used[segment] - this.#live[segment];
    this.#used[segment] = 0;
    this.#live[segment] = 0;
    if (segment === this.#head) this.#head = 0;
    if (!this.#large[segment]) {
      this.#spare.push(segment);
      return;
    }
    this.#arena -= this.#bytes[segment].length + LARGE_OVERHEAD_BYTES;
    this.#words[segment] = NO_WORDS;
    this.#bytes[segment] = NO_BYTES;
    this.#large[segment] = false;
    this.#freeIds.push(segment);
  }

  /** Twice the buckets (past those allocated up front): the table's growth comes out of the byte budget. */
  #growBuckets(): void {
    const buckets = new Int32Array(this.#buckets.length * 2);
    this.#budget -= this.#buckets.byteLength;
    this.#buckets = buckets;
    this.#mask = buckets.length - 1;
    for (let address = this.#words[0][NEWER]; address !== 0; ) {
      const words = this.#words[address >>> OFFSET_BITS];
      const offset = address & OFFSET_MASK;
      const bucket = words[offset] & this.#mask;
      words[offset + CHAIN] = buckets[bucket];
      buckets[bucket] = address;
      address = words[offset + NEWER];
    }
  }

  /** Makes `address` the most recently used. */
  #touch(address: number): void {
    if (this.#words[0][OLDER] === address) return;
    this.#unlink(address);
    this.#link(address);
  }

  #link(address: number): void {
    const sentinel = this.#words[0];
    const newest = sentinel[OLDER];
    this.#setNewer(newest, address);
    const words = this.#words[address >>> OFFSET_BITS];
    const offset = address & OFFSET_MASK;
    words[offset + OLDER] = newest;
    words[offset + NEWER] = 0;
    sentinel[OLDER] = address;
  }

  #unlink(address: number): void {
    const words = this.#words[address >>> OFFSET_BITS];
    const offset = address & OFFSET_MASK;
    const older = words[offset + OLDER];
    const newer = words[offset + NEWER];
    this.#setNewer(older, newer);
    this.#setOlder(newer, older);
  }

  #setNewer(address: number, newer: number): void {
    this.#words[address >>> OFFSET_BITS][(address & OFFSET_MASK) + NEWER] = newer;
  }

  #setOlder(address: number, older: number): void {
    this.#words[address >>> OFFSET_BITS][(address & OFFSET_MASK) + OLDER] = older;
  }
}
