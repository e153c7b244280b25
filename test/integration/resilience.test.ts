/**
 * A validator that is down or slow (SPEC sections 4 and 6, and the validator keys beyond them):
 * the circuit breaker, `onUnavailable: stale` (bounded by staleIfErrorSeconds and by `exp`), the
 * cap on concurrent calls, and bounded retries on a refused connection. The fixture validator
 * fails on command: the script reads `down`, which each test flips.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type ScriptedAnswer, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { Agent, fetch, type Response } from 'undici';
import { errorOf, startTestGateway, type TestGateway } from '../fixtures/gateway.js';

/** How a failing token is answered. */
type Failure = 'status503' | 'hangUp' | 'timeout';

/** token -> how it fails now; a token not in the map is answered normally (200 for `users`). */
const down = new Map<string, Failure>();
/** token -> the 200 body for it. */
const users = new Map<string, unknown>();

function script(token: string): ScriptedAnswer | undefined {
  const failure = down.get(token) ?? (token.startsWith('brk-') && breakerDown ? 'status503' : undefined);
  if (failure === 'status503') return { status: 503, body: 'down', delayMs: token.startsWith('brk-') ? breakerDelayMs : 0 };
  if (failure === 'hangUp') return { hangUp: true };
  // Longer than every validator's timeoutMs below.
  if (failure === 'timeout') return { status: 200, body: '{}', delayMs: 1_500 };
  if (token.startsWith('slow-')) return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ uid: token }), delayMs: 300 };
  const user = users.get(token);
  if (user !== undefined) return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) };
  return undefined; // the seed's 401
}
let breakerDown = false;
let breakerDelayMs = 0;

describe('a validator that is down or slow', () => {
  let validator: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  let deadUrl: string;

  before(async () => {
    validator = await startSeedEndpoint({ script });
    backend = await startSampleBackend();
    const closed = await startSampleBackend();
    deadUrl = `${closed.url}/GetUserDetails`;
    await closed.close();
    const noBreaker = { failures: 0 };
    const identityHeaders = { 'X-User-Id': 'uid' };
    gw = await startTestGateway({
      admin: { host: '127.0.0.1', port: 0 },
      validators: {
        breaker: { url: validator.validationUrl, circuitBreaker: { failures: 3, cooldownSeconds: 1 } },
        nobreaker: { url: validator.validationUrl, circuitBreaker: { failures: 0 } },
        stale: { url: validator.validationUrl, timeoutMs: 500, onUnavailable: 'stale', staleIfErrorSeconds: 5, cache: { ttlSeconds: 1, negativeTtlSeconds: 1 }, circuitBreaker: noBreaker },
        shortstale: { url: validator.validationUrl, timeoutMs: 500, onUnavailable: 'stale', staleIfErrorSeconds: 1, cache: { ttlSeconds: 1 }, circuitBreaker: noBreaker },
        deny: { url: validator.validationUrl, timeoutMs: 500, onUnavailable: 'deny', staleIfErrorSeconds: 5, cache: { ttlSeconds: 1 }, circuitBreaker: noBreaker },
        capped: { url: validator.validationUrl, maxConcurrentCalls: 2, cache: { ttlSeconds: 60 } },
        dead: { url: deadUrl, timeoutMs: 2_000 },
      },
      routes: [
        { path: '/breaker', upstream: backend.url, validator: 'breaker' },
        { path: '/nobreaker', upstream: backend.url, validator: 'nobreaker' },
        { path: '/stale', upstream: backend.url, validator: 'stale', identityHeaders },
        { path: '/stale-exp', upstream: backend.url, validator: 'stale', identityHeaders },
        { path: '/stale-negative', upstream: backend.url, validator: 'stale', identityHeaders },
        { path: '/shortstale', upstream: backend.url, validator: 'shortstale', identityHeaders },
        { path: '/deny', upstream: backend.url, validator: 'deny', identityHeaders },
        { path: '/capped', upstream: backend.url, validator: 'capped' },
        { path: '/dead', upstream: backend.url, validator: 'dead' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([validator.close(), backend.close(), ...[...clients.values()].map((agent) => agent.close())]);
  });

  /** A client at each loopback address (Linux routes all of 127.0.0.0/8 to lo). */
  const clients = new Map<string, Agent>();
  const clientAt = (address: string) => {
    let agent = clients.get(address);
    if (agent === undefined) clients.set(address, (agent = new Agent({ localAddress: address })));
    return agent;
  };

  /** One request (from `from`, a loopback address); a gateway that never answers fails the test instead of hanging it. */
  async function get(path: string, token: string, from = '127.0.0.1') {
    const started = performance.now();
    const before = backend.received.length;
    const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2_000), dispatcher: clientAt(from) });
    const body = await res.text();
    const reached = backend.received.slice(before).find((r) => r.url === path);
    return { status: res.status, res, body, ms: performance.now() - started, reached };
  }

  /** The access-log lines of one route path. */
  const linesOf = (path: string) => gw.logs.requests().filter((line) => line.path === path);

  function assertUnavailable(r: { status: number; res: Response; body: string }) {
    assert.equal(r.status, 503);
    assert.equal(r.res.headers.get('content-type'), 'application/json');
    assert.equal(errorOf(r.body).type, 'ValidationUnavailableError');
    assert.ok(r.res.headers.get('retry-after') !== null, 'a 503 carries Retry-After');
    assert.equal(r.res.headers.get('www-authenticate'), null);
  }

  const calls = (token: string) => validator.calls.get(token) ?? 0;
  const stateOf = (name: string) => [...gw.gateway.runtime().validators.values()].find((s) => s.config.name === name)!;

  async function metrics(): Promise<string> {
    const res = await fetch(`${gw.gateway.adminUrl!}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  }

  describe('circuit breaker', () => {
    test('opens after `failures` unavailable answers, answers 503 at once without a call, closes after one good trial call', async () => {
      breakerDown = true;
      breakerDelayMs = 400;
      // Three failures (distinct tokens, so no cache or single flight merges them) from three
      // clients (one client's failures count once), each a real call.
      const first = await Promise.all(['brk-1', 'brk-2', 'brk-3'].map((token, i) => get('/breaker', token, `127.0.0.${i + 1}`)));
      for (const r of first) {
        assertUnavailable(r);
        assert.ok(r.ms >= 350, `a real call waited for the fixture (${r.ms} ms)`);
      }
      for (const token of ['brk-1', 'brk-2', 'brk-3']) assert.equal(calls(token), 1);
      const totalBefore = validator.totalCalls();
      const failedLines = linesOf('/breaker');
      assert.equal(failedLines.length, 3);
      for (const line of failedLines) assert.equal(line.reason, 'validator_server_error');

      // Open: refused at once, the validator is not asked.
      for (const token of ['brk-4', 'brk-5', 'brk-1']) {
        const r = await get('/breaker', token);
        assertUnavailable(r);
        assert.ok(r.ms < 300, `refused at once while open (${r.ms} ms), not after a call`);
      }
      assert.equal(validator.totalCalls(), totalBefore, 'no validator call while the circuit is open');
      assert.equal(calls('brk-4'), 0);
      assert.equal(calls('brk-5'), 0);
      assert.equal(calls('brk-1'), 1);
      const openLines = linesOf('/breaker').slice(3);
      assert.equal(openLines.length, 3);
      for (const line of openLines) {
        assert.equal(line.reason, 'validator_circuit_open');
        assert.equal(line.status, 503);
        // The same outcome as any other "validator unavailable" 503.
        assert.equal(line.outcome, failedLines[0].outcome);
      }
      assert.match(await metrics(), /^tokengate_validator_circuit_open\{validator="breaker"\} 1$/m);

      // After the cooldown, with the validator healthy again: one trial call closes the circuit.
      breakerDown = false;
      breakerDelayMs = 0;
      users.set('brk-6', { uid: 'six' });
      users.set('brk-7', { uid: 'seven' });
      await sleep(1_100);
      const trial = await get('/breaker', 'brk-6');
      assert.equal(trial.status, 200);
      assert.equal(calls('brk-6'), 1);
      const later = await get('/breaker', 'brk-7');
      assert.equal(later.status, 200);
      assert.equal(calls('brk-7'), 1);
      assert.match(await metrics(), /^tokengate_validator_circuit_open\{validator="breaker"\} 0$/m);
    });

    test('failures: 0 turns it off: 10 failing requests make 10 validator calls', async () => {
      const tokens = Array.from({ length: 10 }, (_, i) => `nobrk-${i}`);
      for (const token of tokens) down.set(token, 'status503');
      for (const token of tokens) assertUnavailable(await get('/nobreaker', token));
      for (const token of tokens) assert.equal(calls(token), 1, `${token} reached the validator`);
      const lines = linesOf('/nobreaker');
      assert.equal(lines.length, 10);
      for (const line of lines) assert.equal(line.reason, 'validator_server_error');
      assert.doesNotMatch(await metrics(), /^tokengate_validator_circuit_open\{validator="nobreaker"\} 1$/m);
    });
  });

  // Each test has its own tokens and route path, so they can wait out their ttls side by side.
  describe('onUnavailable: stale', { concurrency: true }, () => {
    test('past its ttl, a positive result is served while the validator fails (the validator is still asked)', async () => {
      users.set('st-ok', { uid: 'user-st-ok' });
      const fresh = await get('/stale', 'st-ok');
      assert.equal(fresh.status, 200);
      assert.equal(calls('st-ok'), 1);
      down.set('st-ok', 'status503');
      await sleep(1_100);
      const r = await get('/stale', 'st-ok');
      assert.equal(r.status, 200);
      assert.equal(calls('st-ok'), 2, 'the validator was asked first');
      assert.ok(r.reached !== undefined, 'the backend got the request');
      assert.equal(r.reached.headers['x-user-id'], 'user-st-ok');
      const line = linesOf('/stale').at(-1)!;
      assert.equal(line.cache, 'stale');
      assert.equal(line.outcome, 'allow');
      assert.match(await metrics(), /^tokengate_stale_served_total [1-9]\d*$/m);
    });

    test('never past the token\'s exp (validator hangs up)', async () => {
      // 2 to 3 s ahead (exp is in whole seconds): after the 1 s ttl there is still time left.
      const exp = Math.floor(Date.now() / 1000) + 3;
      users.set('st-exp', { uid: 'user-st-exp', exp });
      assert.equal((await get('/stale-exp', 'st-exp')).status, 200);
      down.set('st-exp', 'hangUp');
      await sleep(1_100);
      assert.ok(Date.now() < exp * 1000 - 100, 'still before exp');
      const before = await get('/stale-exp', 'st-exp');
      assert.equal(before.status, 200, 'stale before exp');
      assert.equal(before.reached?.headers['x-user-id'], 'user-st-exp');
      assert.equal(linesOf('/stale-exp').at(-1)!.cache, 'stale');
      await sleep(exp * 1000 - Date.now() + 100);
      const r = await get('/stale-exp', 'st-exp');
      assertUnavailable(r);
      assert.equal(r.reached, undefined, 'the backend never saw it');
      assert.equal(calls('st-exp'), 3);
      assert.notEqual(linesOf('/stale-exp').at(-1)!.cache, 'stale');
    });

    test('never past staleIfErrorSeconds (validator times out)', async () => {
      users.set('st-short', { uid: 'user-st-short' });
      assert.equal((await get('/shortstale', 'st-short')).status, 200);
      down.set('st-short', 'timeout');
      await sleep(1_100);
      // ttl 1 s + staleIfErrorSeconds 1 s: still stale now...
      const within = await get('/shortstale', 'st-short');
      assert.equal(within.status, 200);
      assert.equal(linesOf('/shortstale').at(-1)!.cache, 'stale');
      assert.equal(linesOf('/shortstale').at(-1)!.outcome, 'allow');
      // ...and no longer at 2.2 s.
      await sleep(2_200 - 1_100 - within.ms);
      const r = await get('/shortstale', 'st-short');
      assertUnavailable(r);
      assert.equal(r.reached, undefined);
      assert.equal(linesOf('/shortstale').at(-1)!.reason, 'validator_timeout');
      assert.equal(calls('st-short'), 3);
    });

    test('onUnavailable: deny answers 503 in the same situation', async () => {
      users.set('st-deny', { uid: 'user-st-deny' });
      assert.equal((await get('/deny', 'st-deny')).status, 200);
      down.set('st-deny', 'status503');
      await sleep(1_100);
      const r = await get('/deny', 'st-deny');
      assertUnavailable(r);
      assert.equal(r.reached, undefined);
      assert.equal(calls('st-deny'), 2);
      assert.notEqual(linesOf('/deny').at(-1)!.cache, 'stale');
    });

    test('a negative (401) result is never served as stale', async () => {
      const first = await get('/stale-negative', 'st-nobody');
      assert.equal(first.status, 401);
      assert.equal(calls('st-nobody'), 1);
      down.set('st-nobody', 'status503');
      await sleep(1_100);
      const r = await get('/stale-negative', 'st-nobody');
      assertUnavailable(r);
      assert.equal(calls('st-nobody'), 2);
      assert.notEqual(linesOf('/stale-negative').at(-1)!.cache, 'stale');
    });
  });

  test('maxConcurrentCalls: 2 calls in flight, the others get 503 at once; afterwards calls work again', async () => {
    const tokens = Array.from({ length: 5 }, (_, i) => `slow-${i}`);
    const results = await Promise.all(tokens.map((token) => get('/capped', token)));
    const passed = tokens.filter((_, i) => results[i].status === 200);
    const refused = tokens.filter((_, i) => results[i].status === 503);
    assert.equal(passed.length, 2);
    assert.equal(refused.length, 3);
    for (const token of passed) assert.equal(calls(token), 1, `${token} reached the validator`);
    for (const token of refused) assert.equal(calls(token), 0, `${token} did not reach the validator`);
    results.forEach((r, i) => {
      if (r.status === 503) {
        assertUnavailable(r);
        assert.ok(r.ms < 250, `refused at once (${r.ms} ms), not after the 300 ms call`);
      } else {
        assert.ok(r.ms >= 250, `${tokens[i]} waited for its call (${r.ms} ms)`);
      }
    });
    const lines = linesOf('/capped');
    assert.equal(lines.filter((line) => line.reason === 'validator_overloaded').length, 3);
    assert.equal(stateOf('capped').active, 0);

    // Nothing in flight any more: a refused token is validated now.
    const again = await get('/capped', refused[0]);
    assert.equal(again.status, 200);
    assert.equal(calls(refused[0]), 1);
  });

  test('a validator on a closed port: 503 well before timeoutMs, from exactly one validate() (retries are internal)', async () => {
    const state = stateOf('dead');
    const before = state.calls;
    const r = await get('/dead', 'anyone');
    assertUnavailable(r);
    assert.ok(r.ms < 1_000, `answered in ${r.ms} ms, not after the 2000 ms timeout`);
    assert.equal(state.calls - before, 1);
    assert.equal(state.active, 0);
    assert.equal(linesOf('/dead').at(-1)!.reason, 'validator_unreachable');
    // An unavailable outcome is never cached: the next request tries again, once.
    assertUnavailable(await get('/dead', 'anyone'));
    assert.equal(state.calls - before, 2);
  });
});
