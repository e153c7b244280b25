/**
 * Regression for finding 1 of "One decision core": a cached result shared through Redis is bound
 * to the configuration that wrote it. Two instances on one real Redis list the same identity
 * headers in a different order (a rolling deploy that edits `identityHeaders`); a third calls the
 * validator at another URL. Each backend must see every identity header with its own value: a
 * result written under another layout is a miss (a validator call), never a source of values.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { headerBytes, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../fixtures/redis.js';

const TOKEN = 'tg-layout-Qm4rT8wZ2kV6nB1xC9sD';
const USER = { uid: 'u-1', email: 'jo@example.com', active: true, exp: Math.floor(Date.now() / 1000) + 3600 };

describe('identity values never land under another instance\'s header (regression: finding 1)', { skip: skipWithoutRedis() }, () => {
  let redis: RedisServer;
  let validator: SeedEndpoint;
  let backend: SampleBackend;
  const gateways: TestGateway[] = [];

  const start = async (identityHeaders: Record<string, string>, path = '/check') =>
    startTestGateway({
      validators: { seed: { url: `${validator.url}${path}`, cache: { ttlSeconds: 60 } } },
      cache: { redis: redis.url },
      routes: [{ path: '/api', upstream: backend.url, identityHeaders }],
    });

  before(async () => {
    redis = await startRedis();
    validator = await startSeedEndpoint({ path: '/check', users: new Map([[TOKEN, USER]]) });
    backend = await startSampleBackend();
  });
  after(async () => {
    await Promise.all(gateways.map((gw) => gw.close()));
    await Promise.all([validator.close(), backend.close(), redis.stop()]);
  });

  async function seenBy(gw: TestGateway): Promise<Record<string, string[]>> {
    const res = await fetch(`${gw.url}/api/me`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const received = backend.received.at(-1)!;
    return {
      id: headerBytes(received.rawHeaders, 'x-user-id').map(String),
      email: headerBytes(received.rawHeaders, 'x-user-email').map(String),
    };
  }

  const settle = () => new Promise((resolve) => setTimeout(resolve, 100)); // the Redis write is fire and forget

  test('two orders of the same headers, and another validator URL, on one Redis', async () => {
    const first = await start({ 'X-User-Id': 'uid', 'X-User-Email': 'email' });
    const twin = await start({ 'X-User-Id': 'uid', 'X-User-Email': 'email' });
    const swapped = await start({ 'X-User-Email': 'email', 'X-User-Id': 'uid' });
    const elsewhere = await start({ 'X-User-Id': 'uid', 'X-User-Email': 'email' }, '/check?v=2');
    gateways.push(first, twin, swapped, elsewhere);
    const calls = () => validator.calls.get(TOKEN) ?? 0;

    assert.deepEqual(await seenBy(first), { id: ['u-1'], email: ['jo@example.com'] });
    assert.equal(calls(), 1);
    await settle();

    // The same configuration reads the first instance's result from Redis: no call.
    assert.deepEqual(await seenBy(twin), { id: ['u-1'], email: ['jo@example.com'] });
    assert.equal(calls(), 1, 'the same layout is shared');
    assert.equal(twin.logs.requests().at(-1)!.cache, 'redis');

    // The swapped order must not read it: the values would land under each other's header.
    assert.deepEqual(await seenBy(swapped), { id: ['u-1'], email: ['jo@example.com'] });
    assert.equal(calls(), 2, 'another layout\'s result is a miss: the validator was asked');
    assert.equal(swapped.logs.requests().at(-1)!.cache, 'miss');
    await settle();

    // Another validator URL is another judgement: a miss too, whatever Redis holds now.
    assert.deepEqual(await seenBy(elsewhere), { id: ['u-1'], email: ['jo@example.com'] });
    assert.equal(calls(), 3);
  });
});
