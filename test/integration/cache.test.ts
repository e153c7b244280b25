/**
 * SPEC section 6, counted at the validator: single flight, ttl, negative ttl, a ttl capped by the
 * token's exp, caching off, the bound on entries, and a key that includes the validator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startTestGateway, type TestGateway } from '../fixtures/gateway.js';

describe('caching and single flight', () => {
  let validator: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  const users = new Map<string, unknown>();

  before(async () => {
    validator = await startSeedEndpoint({ users, latencyMs: 50 });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: {
        cached: { url: validator.validationUrl, cache: { ttlSeconds: 60, negativeTtlSeconds: 1, maxEntries: 3 } },
        uncached: { url: validator.validationUrl, cache: { ttlSeconds: 0, negativeTtlSeconds: 0 } },
      },
      routes: [
        { path: '/c', upstream: backend.url, validator: 'cached' },
        { path: '/u', upstream: backend.url, validator: 'uncached' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([validator.close(), backend.close()]);
  });

  const get = (path: string, token: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } }).then(async (res) => {
    await res.arrayBuffer();
    return res.status;
  });

  test('50 concurrent requests with one uncached token make exactly one validator call', async () => {
    users.set('burst', { uid: 'b' });
    const statuses = await Promise.all(Array.from({ length: 50 }, () => get('/c', 'burst')));
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(validator.calls.get('burst'), 1);
    const lines = gw.logs.requests().filter((line) => line.path === '/c');
    assert.equal(lines.filter((line) => line.cache === 'miss').length, 1);
    // The others joined the pending call, or (when the load made them late) found its stored result.
    assert.equal(lines.filter((line) => line.cache === 'joined' || line.cache === 'hit').length, 49);
    assert.ok(lines.some((line) => line.cache === 'joined'), 'at least one request joined the pending call');
  });

  test('a cached positive result is reused within its ttl', async () => {
    users.set('warm', { uid: 'w' });
    assert.equal(await get('/c', 'warm'), 200);
    assert.equal(await get('/c', 'warm'), 200);
    assert.equal(validator.calls.get('warm'), 1);
    assert.equal(gw.logs.requests().at(-1)!.cache, 'hit');
  });

  test('a negative result is cached for negativeTtlSeconds, then asked again', async () => {
    assert.equal(await get('/c', 'nobody'), 401);
    assert.equal(await get('/c', 'nobody'), 401);
    assert.equal(validator.calls.get('nobody'), 1);
    await sleep(1_100);
    assert.equal(await get('/c', 'nobody'), 401);
    assert.equal(validator.calls.get('nobody'), 2);
  });

  test("a positive result never outlives the token's exp", async () => {
    // At least one whole second ahead (exp is in whole seconds), far less than the 60 s ttl.
    const exp = Math.floor(Date.now() / 1000) + 2;
    users.set('short', { uid: 's', exp });
    assert.equal(await get('/c', 'short'), 200);
    assert.equal(await get('/c', 'short'), 200);
    assert.equal(validator.calls.get('short'), 1);
    await sleep(exp * 1000 - Date.now() + 50);
    // Past exp the cached entry is gone; the validator is asked again (and the token, within the
    // 30 s skew, is still judged valid by it).
    assert.equal(await get('/c', 'short'), 200);
    assert.equal(validator.calls.get('short'), 2);
  });

  test('ttlSeconds 0 turns caching off: one call per request', async () => {
    users.set('each', { uid: 'e' });
    for (let i = 0; i < 3; i++) assert.equal(await get('/u', 'each'), 200);
    assert.equal(validator.calls.get('each'), 3);
    assert.equal(gw.logs.requests().at(-1)!.cache, 'off');
  });

  test('caching off: concurrent requests are not merged either, each makes its own call', async () => {
    users.set('crowd', { uid: 'c' });
    const statuses = await Promise.all(Array.from({ length: 20 }, () => get('/u', 'crowd')));
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(validator.calls.get('crowd'), 20);
  });

  test('the cache is bounded by maxEntries (least recently used goes first)', async () => {
    for (const token of ['l1', 'l2', 'l3', 'l4']) {
      users.set(token, { uid: token });
      assert.equal(await get('/c', token), 200);
    }
    const state = [...gw.gateway.runtime().validators.values()].find((s) => s.config.name === 'cached')!;
    assert.equal(state.cache!.size, 3);
    assert.equal(await get('/c', 'l1'), 200); // evicted: asked again
    assert.equal(validator.calls.get('l1'), 2);
    assert.equal(await get('/c', 'l4'), 200); // still cached
    assert.equal(validator.calls.get('l4'), 1);
  });

  test('the cache key includes the validator: the same token is asked of each validator', async () => {
    users.set('both', { uid: 'x' });
    assert.equal(await get('/c', 'both'), 200);
    assert.equal(await get('/u', 'both'), 200);
    assert.equal(validator.calls.get('both'), 2);
  });
});
