/**
 * SPEC section 6: "Cache key: a SHA-256 of validator name + token; the raw token is never stored".
 * The cache keeps its entries off the heap, as records in ArrayBuffer segments (src/cache/memory.ts),
 * and its other state in private class fields, which neither `util.inspect` nor JSON can see. So
 * the test searches both: every stored key and result, read back through `ResultCache.entries()`,
 * and every string reachable from each validator's cache and pending-call table, walked through
 * the V8 inspector (node:inspector, in-process), private fields and Map/Set internals included. A
 * positive control (the rendered identity value, which must be there) proves the search reaches
 * the entries.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Session } from 'node:inspector/promises';
import { after, before, describe, test } from 'node:test';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import type { ValidatorState } from '../../src/validators/state.js';
import { startTestGateway, type TestGateway } from '../fixtures/gateway.js';

const GOOD = '8dbd30ed-2e19-42cf-9b86-CaChEgOoD01';
const BAD = '8dbd30ed-2e19-42cf-9b86-CaChEbAd02';
const INACTIVE = '8dbd30ed-2e19-42cf-9b86-CaChEiNaCt03';
const BROKEN = '8dbd30ed-2e19-42cf-9b86-CaChEbRoKeN04';
const TOKENS = [GOOD, BAD, INACTIVE, BROKEN];

/** Strings of the user info that no identity header maps: the raw answer must not be kept. */
const UNMAPPED_USER_INFO = ['jason.borne@marketplace.se', 'ajdoe@marketplace.se', '034534534', '2020-04-16T05:14:17-0400', 'Duffy wo', 'userWsDTO', 'Jason'];

interface Protocol {
  objectId?: string;
  type: string;
  subtype?: string;
  value?: unknown;
}
interface PropertyDescriptor {
  name: string;
  value?: Protocol;
}

/**
 * Every string (values, property names, Map/Set members) reachable from `root`, own and private
 * fields included, functions and typed arrays excepted.
 */
async function reachableStrings(root: object, limit = 20_000): Promise<string[]> {
  const session = new Session();
  session.connect();
  const slot = `__tokengateProbe${process.pid}`;
  (globalThis as Record<string, unknown>)[slot] = root;
  const found: string[] = [];
  try {
    const { result } = (await session.post('Runtime.evaluate', { expression: `globalThis.${slot}` })) as { result: Protocol };
    const queue: { object: Protocol; depth: number }[] = [{ object: result, depth: 0 }];
    let visited = 0;
    while (queue.length > 0) {
      const { object, depth } = queue.shift()!;
      if (object.type === 'string') {
        found.push(String(object.value));
        continue;
      }
      if (object.type !== 'object' || object.objectId === undefined || object.subtype === 'null' || object.subtype === 'typedarray' || depth > 16) continue;
      if (++visited > limit) throw new Error(`object graph larger than ${limit} objects`);
      const props = (await session.post('Runtime.getProperties', { objectId: object.objectId, ownProperties: true })) as {
        result: PropertyDescriptor[];
        privateProperties?: PropertyDescriptor[];
        internalProperties?: PropertyDescriptor[];
      };
      for (const list of [props.result, props.privateProperties ?? [], props.internalProperties ?? []]) {
        for (const prop of list) {
          if (prop.name === '__proto__' || prop.value === undefined) continue;
          found.push(prop.name);
          queue.push({ object: prop.value, depth: depth + 1 });
        }
      }
    }
  } finally {
    delete (globalThis as Record<string, unknown>)[slot];
    session.disconnect();
  }
  return found;
}

describe('the raw token is never cached', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  let brokenAnswers = 0;

  before(async () => {
    seed = await startSeedEndpoint({
      users: new Map<string, unknown>([[GOOD, { ...SEED_USER_INFO, note: `issued for ${GOOD}` }]]),
      script: (token) => {
        if (token === INACTIVE) return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ active: false, sub: INACTIVE }) };
        if (token === BROKEN) {
          brokenAnswers++;
          return { status: 500, headers: { 'content-type': 'text/plain' }, body: `failed on ${BROKEN}` };
        }
        return undefined;
      },
    });
    backend = await startSampleBackend();
    const validator = { url: seed.validationUrl, timeoutMs: 200, cache: { ttlSeconds: 60, negativeTtlSeconds: 60, maxEntries: 16 } };
    gw = await startTestGateway({
      validators: { first: validator, second: validator },
      routes: [
        { path: '/a', upstream: backend.url, validator: 'first', identityHeaders: { 'X-User-Id': 'uid' } },
        { path: '/b', upstream: backend.url, validator: 'second', identityHeaders: { 'X-User-Id': 'uid' } },
      ],
    });
    const calls: [string, string, number][] = [
      ['/a', GOOD, 200],
      ['/b', GOOD, 200],
      ['/a', BAD, 401],
      ['/a', INACTIVE, 401],
      ['/a', BROKEN, 503],
    ];
    for (const [path, token, status] of calls) {
      const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      await res.text();
      assert.equal(res.status, status, `${path} with ${token.slice(-8)}`);
    }
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  /** The stored entries of a validator's cache: [its 16-byte key, its result]. */
  const storedOf = (name: string) => [...state(name).cache!.entries()];
  /** What the cache keeps as a key: the first 16 bytes of SHA-256(validator NUL token), one char per byte. */
  const storedKey = (validator: string, token: string) => createHash('sha256').update(`${validator}\0${token}`).digest().subarray(0, 16).toString('latin1');

  function state(name: string): ValidatorState {
    for (const [config, s] of gw.gateway.runtime().validators) if (config.name === name) return s;
    throw new Error(`no validator ${name}`);
  }

  test('what is cached: valid and invalid results, never the unavailable one', () => {
    assert.equal(state('first').cache?.size, 3, 'GOOD (valid), BAD and INACTIVE (invalid); BROKEN (503) not cached');
    assert.equal(state('second').cache?.size, 1);
    assert.equal(state('first').inflight.size, 0);
    assert.equal(brokenAnswers, 1);
  });

  test('the search reaches the cache entries (positive control): rendered identity and keys are there', () => {
    const stored = storedOf('first');
    assert.ok(stored.some(([, result]) => result.includes('abcd23456')), 'the rendered X-User-Id value is found in the cache');
    const keys = stored.map(([key]) => key);
    assert.equal(new Set(keys).size, 3, `three 16-byte keys, got ${keys.length}`);
  });

  for (const name of ['first', 'second']) {
    test(`validator "${name}": no token, no token fragment, no raw user info anywhere in the cache or the pending calls`, async () => {
      const strings = [...storedOf(name).flat(), ...(await reachableStrings(state(name).cache!)), ...(await reachableStrings(state(name).inflight))];
      const joined = strings.join('\n');
      for (const token of TOKENS) {
        assert.equal(joined.includes(token), false, `a raw token (…${token.slice(-8)}) is stored`);
        assert.equal(joined.includes(token.slice(-12)), false, `a fragment of a token (…${token.slice(-8)}) is stored`);
        assert.equal(strings.some((s) => s.length >= 16 && token.includes(s)), false, 'a long substring of a token is stored');
      }
      for (const value of UNMAPPED_USER_INFO) assert.equal(joined.includes(value), false, `unmapped user info "${value}" is stored`);
    });
  }

  test('keys are SHA-256 digests of validator + token (their first 16 bytes), never the token nor its plain SHA-256, and differ per validator', () => {
    const keysOf = (name: string) => new Set(storedOf(name).map(([key]) => key));
    const first = keysOf('first');
    const second = keysOf('second');
    assert.equal(first.size, 3);
    assert.equal(second.size, 1);
    for (const key of [...first, ...second]) {
      assert.equal(Buffer.from(key, 'latin1').length, 16, '128 bits of a SHA-256 digest');
      for (const token of TOKENS) assert.notEqual(key, createHash('sha256').update(token).digest().subarray(0, 16).toString('latin1'), 'the key must include the validator name');
    }
    assert.ok(first.has(storedKey('first', GOOD)), 'the key is SHA-256(validator NUL token), truncated to 16 bytes');
    const [secondKey] = [...second];
    assert.equal(first.has(secondKey), false, 'the same token has a different key with another validator');
  });
});
