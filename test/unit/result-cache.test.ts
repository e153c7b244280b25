/**
 * The in-process result cache (src/cache/memory.ts) against a reference model: a Map of entries and
 * an explicit recency list. Any sequence of set/get/getStale/revoke with advancing time answers as
 * the model does, holds the same entries in the same recency order, and keeps both bounds; then the
 * rules one by one (freshness and stale times, recency, quarantine, the byte bound and what an entry
 * costs, records of their own segment, the arena's compaction).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { tokenKey } from '../../src/cache/key.js';
import { KEY_BYTES, ResultCache } from '../../src/cache/memory.js';
import { encodeResult, type TokenResult } from '../../src/cache/token-result.js';
import { settings } from '../fixtures/properties.js';

interface Shape {
  /** expiresAt - now, and staleUntil - expiresAt. */
  readonly ttl: number;
  readonly stale: number;
  readonly values: readonly string[];
  readonly claims?: string;
  readonly denial?: boolean;
}

function resultAt(now: number, shape: Shape): TokenResult {
  return encodeResult({
    denial: shape.denial === true ? 'token_inactive' : null,
    expiresAt: now + shape.ttl,
    staleUntil: now + shape.ttl + shape.stale,
    scopes: ['orders:read'],
    identity: shape.values,
    claims: shape.claims ?? '',
  });
}

const fresh = (now: number, values: readonly string[] = ['u1'], ttl = 1000, stale = 0) => resultAt(now, { ttl, stale, values });

/** The reference: entries by their stored key (the first 16 bytes), recency as an explicit list, oldest first. */
class Model {
  readonly results = new Map<string, TokenResult>();
  readonly recency: string[] = [];
  readonly revoked = new Map<string, number>();
  bytes = 0;

  constructor(
    readonly maxEntries: number,
    readonly budget: number,
    readonly cost: (result: TokenResult) => number,
  ) {}

  #drop(id: string): void {
    this.bytes -= this.cost(this.results.get(id)!);
    this.results.delete(id);
    this.recency.splice(this.recency.indexOf(id), 1);
  }

  #touch(id: string): void {
    this.recency.splice(this.recency.indexOf(id), 1);
    this.recency.push(id);
  }

  get(key: string, now: number): TokenResult | undefined {
    const id = key.slice(0, KEY_BYTES);
    const result = this.results.get(id);
    if (result === undefined) return undefined;
    if (staleUntil(result) <= now) {
      this.#drop(id);
      return undefined;
    }
    this.#touch(id);
    return expiresAt(result) > now ? result : undefined;
  }

  getStale(key: string, now: number): TokenResult | undefined {
    const result = this.results.get(key.slice(0, KEY_BYTES));
    return result !== undefined && staleUntil(result) > now ? result : undefined;
  }

  set(key: string, result: TokenResult, now: number): boolean {
    const id = key.slice(0, KEY_BYTES);
    if (staleUntil(result) <= now) return false;
    if ((this.revoked.get(id) ?? -Infinity) > now) return false;
    if (this.results.has(id)) this.#drop(id);
    const cost = this.cost(result);
    if (cost > this.budget || /[^\x00-\xff]/.test(result)) return false;
    while (this.results.size >= this.maxEntries || this.bytes + cost > this.budget) this.#drop(this.recency[0]);
    this.results.set(id, result);
    this.recency.push(id);
    this.bytes += cost;
    return true;
  }

  revoke(key: string, now: number, quarantineMs: number): boolean {
    const id = key.slice(0, KEY_BYTES);
    this.revoked.set(id, now + quarantineMs);
    if (!this.results.has(id)) return false;
    this.#drop(id);
    return true;
  }

  entries(): [string, TokenResult][] {
    return this.recency.map((id) => [id, this.results.get(id)!]);
  }
}

function time48(result: string, at: number): number {
  let value = 0;
  for (let i = at; i < at + 6; i++) value = value * 256 + result.charCodeAt(i);
  return value;
}
const expiresAt = (result: string) => time48(result, 1);
const staleUntil = (result: string) => time48(result, 7);

/** Ten keys; the last two share their first 16 bytes with the first two (the same entry, see memory.ts). */
const BASE_KEYS = Array.from({ length: 8 }, (_, i) => tokenKey('v', `token-${i}`));
const KEYS = [...BASE_KEYS, BASE_KEYS[0].slice(0, KEY_BYTES) + 'x'.repeat(16), BASE_KEYS[1].slice(0, KEY_BYTES) + '\xff'.repeat(16)];

type Op =
  | { readonly op: 'set'; readonly key: number; readonly shape: Shape; readonly wide: boolean }
  | { readonly op: 'get'; readonly key: number }
  | { readonly op: 'getStale'; readonly key: number }
  | { readonly op: 'revoke'; readonly key: number; readonly quarantine: number }
  | { readonly op: 'tick'; readonly ms: number };

const byteValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const value = fc.oneof(
  { weight: 8, arbitrary: byteValue },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 3000 }).map((n) => 'L'.repeat(n)) },
);
const shape: fc.Arbitrary<Shape> = fc.record({
  ttl: fc.integer({ min: -20, max: 80 }),
  stale: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 120 })),
  values: fc.array(value, { maxLength: 3 }),
  claims: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constant('{"sub":"x"}') }),
  denial: fc.boolean(),
});
const key = fc.integer({ min: 0, max: KEYS.length - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), key, shape, wide: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('getStale' as const), key }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('revoke' as const), key, quarantine: fc.integer({ min: 0, max: 60 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 40 }) }) },
);
const bounds = fc.record({ maxEntries: fc.integer({ min: 1, max: 12 }), maxBytes: fc.constantFrom(4096, 8192, 65_536) });

describe('result cache against the reference model', () => {
  test('any sequence of set/get/getStale/revoke with advancing time: the same answers, entries and recency; both bounds hold', () => {
    fc.assert(
      fc.property(bounds, fc.array(op, { maxLength: 160, size: 'max' }), ({ maxEntries, maxBytes }, ops) => {
        const cache = new ResultCache(maxEntries, maxBytes);
        const model = new Model(maxEntries, cache.budget, (result) => cache.cost(result));
        assert.ok(cache.budget <= maxBytes && cache.budget > maxBytes / 2, 'the hash table comes out of the byte bound');
        let now = 1000;
        for (const step of ops) {
          if (step.op === 'tick') {
            now += step.ms;
            continue;
          }
          const k = KEYS[step.key];
          if (step.op === 'set') {
            let result = resultAt(now, step.shape);
            if (step.wide) result = (result + '\u0100') as TokenResult;
            assert.equal(cache.set(k, result, now), model.set(k, result, now), 'set');
          } else if (step.op === 'get') {
            assert.equal(cache.get(k, now), model.get(k, now), 'get');
          } else if (step.op === 'getStale') {
            assert.equal(cache.getStale(k, now), model.getStale(k, now), 'getStale');
          } else {
            assert.equal(cache.revoke(k, now, step.quarantine), model.revoke(k, now, step.quarantine), 'revoke');
          }
          assert.equal(cache.size, model.results.size, 'size');
          assert.equal(cache.bytes, model.bytes, 'bytes');
          assert.ok(cache.size <= maxEntries, 'the entry bound');
          assert.ok(cache.bytes <= cache.budget, 'the byte bound');
          assert.deepEqual([...cache.entries()], model.entries(), 'entries, least recently used first');
          assert.ok(cache.heldBytes <= 2 * maxBytes + 16 * 1024, `held ${cache.heldBytes} bytes for a bound of ${maxBytes}`);
        }
      }),
      settings(400, 61),
    );
  });

  test('a full cache of many entries, with churn: the model still agrees, and the arena stays within its bound', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 399 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 120 })), { minLength: 200, maxLength: 1500, size: 'max' }), (steps) => {
        const cache = new ResultCache(300, 65_536);
        const model = new Model(300, cache.budget, (result) => cache.cost(result));
        const keys = Array.from({ length: 400 }, (_, i) => tokenKey('churn', String(i)));
        let now = 0;
        for (const [k, action, size] of steps) {
          now += 1;
          const result = fresh(now, [`user-${k}`, 'v'.repeat(size)], 500);
          if (action < 6) assert.equal(cache.set(keys[k], result, now), model.set(keys[k], result, now));
          else if (action < 9) assert.equal(cache.get(keys[k], now), model.get(keys[k], now));
          else assert.equal(cache.revoke(keys[k], now, 0), model.revoke(keys[k], now, 0));
          assert.equal(cache.bytes, model.bytes);
        }
        assert.deepEqual([...cache.entries()], model.entries());
        // Written: at most 4/3 of the live and a segment (4 KiB here); each segment's unused end under a quarter of it.
        assert.ok(cache.heldBytes <= (16 / 9) * (cache.budget + 4096) + 4096 + (65_536 - cache.budget), `held ${cache.heldBytes}`);
      }),
      settings(60, 62),
    );
  });
});

describe('result cache rules', () => {
  const [A, B, C, D] = BASE_KEYS;

  test('get: a result only while fresh; past fresh but within stale, getStale; past stale, dropped', () => {
    const cache = new ResultCache(10, 65_536);
    const result = fresh(100, ['u1'], 50, 30); // fresh until 150, stale until 180
    assert.equal(cache.set(A, result, 100), true);
    const cases: [number, TokenResult | undefined, TokenResult | undefined, number][] = [
      // now, get, getStale, size after
      [100, result, result, 1],
      [149, result, result, 1],
      [150, undefined, result, 1],
      [179, undefined, result, 1],
      [180, undefined, undefined, 0],
    ];
    for (const [now, got, stale, size] of cases) {
      assert.equal(cache.getStale(A, now), stale, `getStale at ${now}`);
      assert.equal(cache.get(A, now), got, `get at ${now}`);
      assert.equal(cache.size, size, `size at ${now}`);
    }
    assert.equal(cache.getStale(A, 180), undefined);
  });

  test('set: false when already past stale, or while revoked; revoke says whether a result was held', () => {
    const cache = new ResultCache(10, 65_536);
    assert.equal(cache.set(A, fresh(0, ['u'], 10), 10), false, 'stale at now');
    assert.equal(cache.size, 0);
    assert.equal(cache.set(A, fresh(0, ['u'], 100), 10), true);
    assert.equal(cache.revoke(A, 20, 50), true, 'it was held');
    assert.equal(cache.get(A, 20), undefined);
    assert.equal(cache.revoke(B, 20, 50), false, 'nothing held');
    assert.equal(cache.set(A, fresh(30), 30), false, 'quarantined until 70');
    assert.equal(cache.set(B, fresh(69), 69), false, 'quarantined until 70');
    assert.equal(cache.set(C, fresh(69), 69), true, 'another key is stored');
    assert.equal(cache.set(A, fresh(70), 70), true, 'quarantine over');
    assert.equal(cache.get(A, 70) !== undefined, true);
    assert.equal(cache.size, 2);
  });

  test('recency: a get refreshes, a getStale does not; a full cache evicts the least recently used', () => {
    const cache = new ResultCache(3, 65_536);
    for (const k of [A, B, C]) cache.set(k, fresh(0, [k.slice(0, 4)]), 0);
    assert.notEqual(cache.get(A, 1), undefined); // order now B C A
    assert.notEqual(cache.getStale(B, 1), undefined); // no change
    cache.set(D, fresh(1), 1); // evicts B
    assert.equal(cache.get(B, 2), undefined);
    assert.deepEqual([...cache.entries()].map(([k]) => k), [C, A, D].map((k) => k.slice(0, KEY_BYTES)));
    cache.set(C, fresh(3, ['again']), 3); // replacing makes it the most recent
    assert.deepEqual([...cache.entries()].map(([k]) => k), [A, D, C].map((k) => k.slice(0, KEY_BYTES)));
    assert.equal(cache.size, 3);
  });

  test('what an entry costs: its record, the bytes of the result padded to 4, less 9 for the usual head', () => {
    const cache = new ResultCache(10, 65_536);
    const cases: [string, TokenResult, number, number][] = [
      // name, result, its length, its cost
      // 16 + "orders:read" + "\nu100000123" + "\nuser123@marketplace.se"; stale time = expiry, no claims: 30 + 61 - 9 = 82, padded 84
      ['short head', fresh(0, ['u100000123', 'user123@marketplace.se']), 61, 84],
      ['with a stale time', fresh(0, ['u100000123', 'user123@marketplace.se'], 10, 5), 61, 92],
      ['with claims', resultAt(0, { ttl: 10, stale: 0, values: ['u1'], claims: '{"a":1}' }), 37, 68],
      ['no values', fresh(0, []), 27, 48],
    ];
    for (const [name, result, length, cost] of cases) {
      assert.equal(result.length, length, name);
      assert.equal(cache.cost(result), cost, name);
    }
    const before = cache.heldBytes;
    cache.set(A, cases[0][1], 0);
    assert.equal(cache.bytes, 84);
    assert.ok(cache.heldBytes - before >= 76, 'at least the cost is really held');
  });

  test('the byte bound: the least recently used go until a new entry fits; one larger than the bound is refused and drops the old result', () => {
    const cache = new ResultCache(1000, 65_536);
    const value = 'x'.repeat(900); // 30 + 16 + 11 + 1 + 900 - 9 = 949 bytes, padded 952
    const keys = Array.from({ length: 100 }, (_, i) => tokenKey('bytes', String(i)));
    for (let i = 0; i < keys.length; i++) assert.equal(cache.set(keys[i], fresh(i, [value]), i), true);
    const each = cache.cost(fresh(0, [value]));
    assert.equal(cache.size, Math.floor(cache.budget / each));
    assert.ok(cache.bytes <= cache.budget);
    assert.deepEqual([...cache.entries()].map(([k]) => k), keys.slice(-cache.size).map((k) => k.slice(0, KEY_BYTES)), 'the newest are kept, oldest first');
    const huge = fresh(200, ['h'.repeat(70_000)]);
    assert.equal(cache.set(keys[99], huge, 200), false, 'larger than the whole bound');
    assert.equal(cache.get(keys[99], 200), undefined, 'and the older result is gone');
    assert.equal(cache.set(keys[0], `${fresh(200)}\u0100` as TokenResult, 200), false, 'not a byte string');
  });

  test('records of their own segment (over a quarter of one) and small ones mix, come back whole, and are freed', () => {
    const cache = new ResultCache(100, 1 << 22);
    const results = Array.from({ length: 40 }, (_, i) => fresh(0, [String(i), i % 3 === 0 ? 'b'.repeat(20_000 + i) : 's'.repeat(i)], 1000, i % 2));
    const keys = results.map((_, i) => tokenKey('large', String(i)));
    const empty = cache.heldBytes;
    results.forEach((result, i) => assert.equal(cache.set(keys[i], result, 0), true));
    results.forEach((result, i) => assert.equal(cache.get(keys[i], 1), result, `entry ${i}`));
    keys.forEach((k) => assert.equal(cache.revoke(k, 2, 0), true));
    assert.equal(cache.size, 0);
    assert.equal(cache.bytes, 0);
    assert.ok(cache.heldBytes - empty <= 2 * 65_536, `large records' memory is given back (${cache.heldBytes - empty} bytes of segments kept)`);
  });

  test('the arena is compacted: with every other entry gone, the rest is moved, and still found, in order', () => {
    const cache = new ResultCache(20_000, 1 << 22);
    const keys = Array.from({ length: 20_000 }, (_, i) => tokenKey('compact', String(i)));
    keys.forEach((k, i) => cache.set(k, fresh(0, [`user-${i}`, 'v'.repeat(i % 50)], 10_000), 0));
    const full = cache.heldBytes;
    for (let i = 0; i < keys.length; i += 2) cache.revoke(keys[i], 1, 0);
    for (let i = 1; i < keys.length; i += 2) assert.equal(cache.get(keys[i], 2), fresh(0, [`user-${i}`, 'v'.repeat(i % 50)], 10_000), `entry ${i}`);
    assert.equal(cache.size, 10_000);
    assert.deepEqual([...cache.entries()].map(([k]) => k), keys.filter((_, i) => i % 2 === 1).map((k) => k.slice(0, KEY_BYTES)));
    // Half the records died; compaction moved live ones so that the refill reuses the segments it freed:
    // at most 4/3 of what the first fill held (and two segments), where without it the dead half would stay (3/2).
    keys.forEach((k, i) => i % 2 === 0 && cache.set(k, fresh(3, [`user-${i}`, 'v'.repeat(i % 50)], 10_000), 3));
    assert.equal(cache.size, 20_000);
    assert.ok(cache.heldBytes <= (4 / 3) * full + 2 * 65_536, `held ${cache.heldBytes} after refilling, ${full} when first full`);
    for (let i = 0; i < keys.length; i++) assert.notEqual(cache.get(keys[i], 4), undefined, `entry ${i}`);
  });

  test('the key is its first 16 bytes: keys differing only after them are one entry', () => {
    const cache = new ResultCache(10, 65_536);
    const twin = A.slice(0, KEY_BYTES) + 'z'.repeat(16);
    cache.set(A, fresh(0, ['first']), 0);
    cache.set(twin, fresh(0, ['second']), 0);
    assert.equal(cache.size, 1);
    assert.equal(cache.get(A, 1), fresh(0, ['second']));
    assert.equal(cache.revoke(twin, 1, 10), true);
    assert.equal(cache.set(A, fresh(2), 2), false, 'quarantined as one key');
  });

  test('a million-entry bound allocates its hash table up front; what the table costs is left out of the byte budget', () => {
    const cases: [number, number, number][] = [
      // maxEntries, maxBytes, buckets
      [100_000, 64 * 2 ** 20, 131_072],
      [1_000_000, 2 ** 40, 1_048_576],
      [16, 65_536, 16],
      [100_000, 65_536, 2048],
    ];
    for (const [maxEntries, maxBytes, buckets] of cases) {
      const cache = new ResultCache(maxEntries, maxBytes);
      assert.equal(Math.min(maxBytes, 2 ** 31) - cache.budget, 4 * buckets, `${maxEntries} entries, ${maxBytes} bytes`);
    }
  });

  test('past a million entries the hash table doubles: every entry still found, in the same recency, its growth paid from the byte budget', () => {
    const count = 2 ** 20 + 5000;
    const cache = new ResultCache(2 * 2 ** 20, 2 ** 31);
    const before = cache.budget;
    const result = fresh(0, ['u']);
    const keys = Array.from({ length: count }, (_, i) => tokenKey('grow', String(i)));
    for (let i = 0; i < count; i++) assert.equal(cache.set(keys[i], result, 0), true);
    assert.equal(cache.size, count);
    assert.equal(before - cache.budget, 4 * 2 ** 20, 'the doubled table costs 4 MiB more');
    for (let i = 0; i < count; i += 997) assert.equal(cache.get(keys[i], 1), result, `entry ${i}`);
    assert.equal(cache.get(keys[count - 1], 1), result);
    const order = [...cache.entries()].map(([key]) => key);
    assert.equal(order.length, count);
    assert.equal(order[0], keys[1].slice(0, KEY_BYTES), 'the least recently used first: 0 was read since');
    assert.equal(order.at(-1), keys[count - 1].slice(0, KEY_BYTES));
  });
});
