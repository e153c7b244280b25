/**
 * SPEC section 6 with a real redis-server and two gateway instances sharing it: a result validated
 * by one instance is served by the other without a validator call; Redis holds nothing readable
 * (no token, no user info, no plain digest of the token) and nothing beyond its ttl; `POST /revoke`
 * on one admin port evicts the token in Redis and, through pub/sub, in the other instance's memory;
 * Redis dying mid-traffic degrades to memory + validator (never a 5xx, never slow), shows in
 * /readyz, /metrics and the log, and is recovered from by itself.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { tokenKey } from '../../src/cache/key.js';
import { deriveKeys } from '../../src/cache/redis.js';
import { clockNow } from '../../src/cache/token-result.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { SEED_USER_INFO, startSeedEndpoint, type ScriptedAnswer, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { headerBytes, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../fixtures/redis.js';

const VALIDATOR = 'seed';
const TTL_SECONDS = 30;
const NEGATIVE_TTL_SECONDS = 5;
const IDENTITY = { 'X-User-Id': 'uid', 'X-User-Email': 'email', 'X-User-Last-Name': 'lastName' };

/** Unique, long tokens: an accidental match of one in Redis bytes is impossible. */
const token = (name: string) => `tg-${name}-Zq8xV3kP0wLr7NbT2mYc5HsD`;

interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly body: string;
}

async function call(gw: TestGateway, bearer: string): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${gw.url}/api/whoami`, { headers: { authorization: `Bearer ${bearer}` } });
  const body = await res.text();
  return { status: res.status, ms: performance.now() - started, body };
}

async function admin(gw: TestGateway, path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${gw.gateway.adminUrl!}${path}`, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

const revoke = (gw: TestGateway, body: string) => admin(gw, '/revoke', { method: 'POST', headers: { 'content-type': 'application/json' }, body });

/** The samples of `name` whose labels include `labels`, summed. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      seen = true;
      total += Number(match[3]);
    }
  }
  assert.ok(seen, `metric ${name}${JSON.stringify(labels)} is exported`);
  return total;
}

/** Polls `probe` until it returns true or `withinMs` passes; returns whether it did. */
async function eventually(probe: () => boolean | Promise<boolean>, withinMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** Every key and value in Redis, as bytes. */
async function dump(client: Redis): Promise<{ key: Buffer; value: Buffer | null; type: string }[]> {
  const out: { key: Buffer; value: Buffer | null; type: string }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scanBuffer(cursor, 'COUNT', 1000);
    cursor = next.toString();
    for (const key of keys) {
      const type = await client.type(key);
      out.push({ key, type, value: type === 'string' ? await client.getBuffer(key) : null });
    }
  } while (cursor !== '0');
  return out;
}

describe('SPEC section 6: the shared Redis cache between two instances', { skip: skipWithoutRedis() }, () => {
  let redis: RedisServer;
  let inspect: Redis;
  let validator: SeedEndpoint;
  let backend: SampleBackend;
  let a: TestGateway;
  let b: TestGateway;
  const users = new Map<string, unknown>();
  const scripted = new Map<string, ScriptedAnswer>();
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const user = { ...SEED_USER_INFO, exp };
  const calls = (t: string) => validator.calls.get(t) ?? 0;
  const redisKey = (t: string) => deriveKeys(VALIDATOR, t).redisKey;
  const inMemory = (gw: TestGateway, t: string) => {
    const state = [...gw.gateway.runtime().validators.values()].find((s) => s.config.name === VALIDATOR)!;
    return state.cache!.get(tokenKey(VALIDATOR, t), clockNow()) !== undefined;
  };
  const lastLine = (gw: TestGateway) => gw.logs.requests().at(-1)!;
  const redisWarnings = (gw: TestGateway) => gw.logs.lines().filter((line) => typeof line.msg === 'string' && line.msg.startsWith('redis unavailable'));
  const slowValid = (delayMs: number): ScriptedAnswer => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(user), delayMs });

  before(async () => {
    redis = await startRedis();
    inspect = redis.client();
    inspect.on('error', () => undefined); // it is killed on purpose below
    validator = await startSeedEndpoint({ users, script: (t) => scripted.get(t) });
    backend = await startSampleBackend();
    const doc = {
      admin: { host: '127.0.0.1', port: 0 },
      cache: { redis: redis.url, redisTimeoutMs: 250 },
      validators: { [VALIDATOR]: { url: validator.validationUrl, cache: { ttlSeconds: TTL_SECONDS, negativeTtlSeconds: NEGATIVE_TTL_SECONDS } } },
      routes: [{ path: '/api', upstream: backend.url, validator: VALIDATOR, identityHeaders: IDENTITY }],
    };
    a = await startTestGateway(doc);
    b = await startTestGateway(doc);
    // Both connected to Redis (and subscribed) before any traffic.
    assert.ok(await eventually(() => a.gateway.readiness().ready && b.gateway.readiness().ready, 5_000), 'both instances connect to Redis');
    assert.ok(await eventually(async () => ((await inspect.pubsub('NUMSUB', 'tokengate:revoked')) as [string, number])[1] === 2, 5_000), 'both instances subscribe');
  });

  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await Promise.allSettled([validator?.close(), backend?.close()]);
    await redis?.stop();
  });

  test('a token validated through instance A is served by instance B from Redis, identity intact', async () => {
    const t = token('shared');
    users.set(t, user);
    assert.equal((await call(a, t)).status, 200);
    assert.equal(calls(t), 1);
    assert.equal(lastLine(a).cache, 'miss');
    // A stores in Redis without waiting for it; B looks once it is there.
    assert.ok(await eventually(async () => (await inspect.exists(redisKey(t))) === 1, 1_000), 'A stored the result in Redis');

    const before = backend.received.length;
    const res = await call(b, t);
    assert.equal(res.status, 200);
    assert.equal(calls(t), 1, 'B did not ask the validator');
    assert.equal(lastLine(b).cache, 'redis');
    assert.equal(backend.received.length, before + 1);
    const raw = backend.received.at(-1)!.rawHeaders;
    assert.deepEqual(headerBytes(raw, 'X-User-Last-Name'), [Buffer.from('öhlundi', 'utf8')]);
    assert.deepEqual(headerBytes(raw, 'X-User-Email'), [Buffer.from('jason.borne@marketplace.se')]);
    assert.deepEqual(headerBytes(raw, 'X-User-Id'), [Buffer.from('abcd23456')]);

    // B now has it in memory: a second request is a plain hit.
    assert.equal((await call(b, t)).status, 200);
    assert.equal(lastLine(b).cache, 'hit');
    assert.equal(calls(t), 1);
  });

  test('Redis holds no token, no user info, no plain digest; keys are opaque and expire within the ttl', async () => {
    const t = token('shared');
    const unknown = token('unknown');
    const flaky = token('flaky');
    scripted.set(flaky, { status: 503, body: 'down' });

    // A negative result is shared too, for negativeTtlSeconds.
    assert.equal((await call(a, unknown)).status, 401);
    assert.ok(await eventually(async () => (await inspect.exists(redisKey(unknown))) === 1, 1_000), 'the negative result is in Redis');
    const negativePttl = await inspect.pttl(redisKey(unknown));
    assert.ok(negativePttl > 0 && negativePttl <= NEGATIVE_TTL_SECONDS * 1000, `negative PTTL ${negativePttl}`);
    assert.equal((await call(b, unknown)).status, 401);
    assert.equal(calls(unknown), 1, 'B used the shared negative result');

    // An unavailable outcome is never cached: neither instance finds it, both ask.
    assert.equal((await call(a, flaky)).status, 503);
    assert.equal((await call(b, flaky)).status, 503);
    assert.equal(calls(flaky), 2);
    // A later store by A is in Redis after anything A sent before it (one connection, in order).
    const sentinel = token('sentinel');
    users.set(sentinel, user);
    assert.equal((await call(a, sentinel)).status, 200);
    assert.ok(await eventually(async () => (await inspect.exists(redisKey(sentinel))) === 1, 1_000));
    assert.equal(await inspect.exists(redisKey(flaky)), 0, 'the 503 outcome is not in Redis');

    const positivePttl = await inspect.pttl(redisKey(t));
    assert.ok(positivePttl > 0 && positivePttl <= TTL_SECONDS * 1000, `positive PTTL ${positivePttl}`);

    const entries = await dump(inspect);
    const keys = entries.map((e) => e.key.toString('latin1'));
    for (const expected of [t, unknown, sentinel]) assert.ok(keys.includes(redisKey(expected)), `the scan sees ${expected}'s key`);
    assert.equal(entries.length, 3, `only the three judged results: ${keys.join(' ')}`);
    for (const { key, type, value } of entries) {
      assert.match(key.toString('latin1'), /^tokengate:v1:[0-9a-f]{64}$/);
      assert.equal(type, 'string');
      assert.ok(value !== null && value.length > 28, 'a sealed value: iv, tag, body');
      const pttl = await inspect.pttl(key);
      assert.ok(pttl > 0 && pttl <= TTL_SECONDS * 1000, `PTTL ${pttl} of ${key.toString('latin1')}`);
    }

    const needles: [string, Buffer][] = [];
    for (const secret of [t, unknown, sentinel, flaky]) {
      const digests = [createHash('sha256').update(secret).digest(), createHash('sha256').update(`${VALIDATOR}\0${secret}`).digest()];
      needles.push([`token ${secret}`, Buffer.from(secret)]);
      for (const digest of digests) {
        needles.push([`sha256 hex of ${secret}`, Buffer.from(digest.toString('hex'))]);
        needles.push([`sha256 base64 of ${secret}`, Buffer.from(digest.toString('base64'))]);
        needles.push([`sha256 base64url of ${secret}`, Buffer.from(digest.toString('base64url'))]);
        needles.push([`sha256 bytes of ${secret}`, digest]);
      }
    }
    needles.push(['email', Buffer.from('jason.borne@marketplace.se')]);
    needles.push(['last name, UTF-8', Buffer.from('öhlundi', 'utf8')]);
    needles.push(['last name, latin1', Buffer.from('öhlundi', 'latin1')]);
    needles.push(['uid', Buffer.from('abcd23456')]);
    for (const { key, value } of entries) {
      for (const [what, needle] of needles) {
        assert.equal(key.indexOf(needle), -1, `${what} in a key`);
        assert.equal(value!.indexOf(needle), -1, `${what} in a value`);
      }
    }
  });

  test('POST /revoke on A evicts the token in Redis and, through pub/sub, in both memories', async () => {
    const t = token('revoked');
    // A slow answer, so that A and B asking at the same time both reach the validator.
    scripted.set(t, slowValid(150));
    assert.equal((await call(a, t)).status, 200);
    assert.ok(await eventually(async () => (await inspect.exists(redisKey(t))) === 1, 1_000));
    assert.equal((await call(b, t)).status, 200);
    assert.equal(calls(t), 1);
    assert.ok(inMemory(a, t) && inMemory(b, t), 'both instances have it in memory');

    const res = await revoke(a, JSON.stringify({ token: t }));
    assert.equal(res.status, 200, res.body);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(res.body), { forgotten: 1, validators: 1, everywhere: true });
    assert.equal(await inspect.exists(redisKey(t)), 0, 'the Redis key is gone');
    assert.equal(inMemory(a, t), false, 'gone from A');
    assert.ok(await eventually(() => !inMemory(b, t), 1_000), 'the revocation reached B within one second');

    // Both ask the validator again (at the same time: whichever asked first would otherwise share
    // its fresh answer with the other through Redis, as it should).
    const [ra, rb] = await Promise.all([call(a, t), call(b, t)]);
    assert.equal(ra.status, 200);
    assert.equal(rb.status, 200);
    assert.equal(calls(t), 3, 'one new validator call from each instance');
    assert.equal(lastLine(a).cache, 'miss');
    assert.equal(lastLine(b).cache, 'miss');
  });

  test('a validation in flight during a revocation does not put its answer back into Redis', async () => {
    const t = token('race');
    scripted.set(t, slowValid(400));
    const inFlight = call(a, t);
    await sleep(150);
    assert.equal(calls(t), 1, 'the validation is under way');
    assert.equal((await revoke(a, JSON.stringify({ token: t }))).status, 200);
    assert.equal((await inFlight).status, 200);
    await sleep(100);
    assert.equal(inMemory(a, t), false, 'A did not keep the answer in memory');
    assert.equal(await inspect.exists(redisKey(t)), 0, 'the answer of a call that began before the revocation is not in Redis');
    scripted.delete(t);
    users.set(t, user);
    assert.equal((await call(b, t)).status, 200);
    assert.equal(calls(t), 2, 'B asks the validator instead of reusing the pre-revocation answer');
  });

  test('POST /revoke refuses a body without a token (400 JSON); GET /revoke is 405', async () => {
    for (const body of ['', 'not json', '{}', '{"token": 5}', '{"token": ""}', '["tok"]', 'null']) {
      const res = await revoke(a, body);
      assert.equal(res.status, 400, `body ${JSON.stringify(body)}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const parsed = JSON.parse(res.body) as { errors: { type: string; message: string }[] };
      assert.equal(parsed.errors[0].type, 'InvalidRequestError');
    }
    const get = await admin(a, '/revoke');
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.match(get.headers.get('content-type') ?? '', /^application\/json/);
    JSON.parse(get.body);
  });

  test('/metrics counts the Redis hits', async () => {
    const res = await admin(b, '/metrics');
    assert.equal(res.status, 200);
    assert.ok(metric(res.body, 'tokengate_cache_lookups_total', { level: 'redis', result: 'hit' }) >= 1);
    assert.equal(metric(res.body, 'tokengate_redis_errors_total'), 0, 'no Redis errors so far');
  });

  test('Redis killed mid-traffic: answers stay right and fast, readiness and metrics say so; it recovers by itself', async () => {
    const cached = token('pre-kill');
    const fresh = token('during-outage');
    const nobody = token('nobody-during-outage');
    users.set(cached, user);
    users.set(fresh, user);
    assert.equal((await call(a, cached)).status, 200);
    assert.equal(calls(cached), 1);
    const warningsBefore = redisWarnings(a).length;
    assert.equal(warningsBefore, 0);

    await redis.kill();

    const answers: [string, Answer, number][] = [];
    answers.push(['cached on A', await call(a, cached), 200]);
    answers.push(['new on A', await call(a, fresh), 200]);
    answers.push(['unknown on A', await call(a, nobody), 401]);
    answers.push(['cached on A (only in A memory) on B', await call(b, cached), 200]);
    answers.push(['new on A, again', await call(a, fresh), 200]);
    for (const [what, answer, status] of answers) {
      assert.equal(answer.status, status, `${what}: ${answer.body}`);
      assert.ok(answer.ms < 1_000, `${what} took ${Math.round(answer.ms)} ms`);
    }
    assert.equal(calls(cached), 2, 'A served it from memory; B, without Redis, asked the validator');
    assert.equal(calls(fresh), 1, 'A validated it once and kept it in memory');
    assert.equal(calls(nobody), 1);

    // Degraded, not unready: A serves on without Redis, so it stays in its load balancer.
    assert.ok(await eventually(async () => (JSON.parse((await admin(a, '/readyz')).body) as { status: string }).status === 'degraded', 1_000), 'A is degraded without Redis');
    const readyz = await admin(a, '/readyz');
    assert.equal(readyz.status, 200);
    assert.equal((JSON.parse(readyz.body) as { checks: Record<string, boolean> }).checks.redis, false);
    assert.equal((await admin(a, '/healthz')).status, 200, 'still alive');

    const metrics = await admin(a, '/metrics');
    assert.ok(metric(metrics.body, 'tokengate_redis_errors_total') > 0);
    const warnings = redisWarnings(a);
    assert.equal(warnings.length, 1, 'one warning per outage, not one per failed command');
    assert.equal(warnings[0].level, 40);

    await redis.restart();
    const readyAgain = async (gw: typeof a) => {
      const res = await admin(gw, '/readyz');
      return res.status === 200 && (JSON.parse(res.body) as { status: string }).status === 'ready';
    };
    assert.ok(await eventually(async () => (await readyAgain(a)) && (await readyAgain(b)), 5_000, 100), 'ready (not degraded) again within 5 s');
    assert.equal((JSON.parse((await admin(a, '/readyz')).body) as { checks: Record<string, boolean> }).checks.redis, true);
    assert.equal((JSON.parse((await admin(a, '/readyz')).body) as { status: string }).status, 'ready');
    assert.ok(a.logs.lines().some((line) => line.msg === 'redis available again'));

    const after = token('after-restart');
    users.set(after, user);
    assert.equal((await call(a, after)).status, 200);
    assert.ok(await eventually(async () => (await inspect.exists(redisKey(after))) === 1, 1_000), 'a new result is in Redis again');
    assert.equal((await call(b, after)).status, 200);
    assert.equal(calls(after), 1);
    assert.equal(lastLine(b).cache, 'redis');

    // Revocations travel again: both instances subscribed anew.
    assert.ok(await eventually(async () => ((await inspect.pubsub('NUMSUB', 'tokengate:revoked')) as [string, number])[1] === 2, 5_000, 100), 'both resubscribed');
    assert.ok(inMemory(b, after));
    assert.equal((await revoke(a, JSON.stringify({ token: after }))).status, 200);
    assert.ok(await eventually(() => !inMemory(b, after), 1_000), 'a revocation after the restart reaches B');
  });
});
