/**
 * SPEC sections 1 and 4: "Failure means the call never reaches the backend (fail closed), whatever
 * else goes wrong." A validator that is unreachable, slow, broken, throttled, hangs up, answers
 * garbage or too much gives 503 ValidationUnavailableError with Retry-After (401 invalid_token with
 * `onUnavailable: deny-401`), and "such an outcome is never cached": the next request asks again.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { listen, urlOf } from '../../src/http/listen.js';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { assertGatewayError, closedPort } from './support.js';

const MIB = 1024 * 1024;
const GOOD = 'good-token-0001';
const FLAKY = 'flaky-token-0002';
const NEAR_LIMIT = 'near-limit-0003';

/** A JSON object of exactly `size` bytes (a valid user info, padded). */
function jsonOfSize(size: number): string {
  const head = '{"uid":"big","pad":"';
  const tail = '"}';
  return head + 'x'.repeat(size - head.length - tail.length) + tail;
}

describe('fail closed when the validator cannot give an answer', () => {
  let seed: SeedEndpoint;
  let odd: Server;
  const oddCalls = new Map<string, number>();
  let backend: SampleBackend;
  let gw: TestGateway;
  let flakyCalls = 0;

  before(async () => {
    const json = { 'content-type': 'application/json' };
    seed = await startSeedEndpoint({
      users: new Map<string, unknown>([[GOOD, SEED_USER_INFO]]),
      script: (token) => {
        const status = /^status-(\d{3})-/.exec(token);
        if (status !== null) return { status: Number(status[1]), headers: json, body: JSON.stringify(SEED_USER_INFO) };
        if (token.startsWith('slow-')) return { delayMs: 700, status: 200, headers: json, body: JSON.stringify(SEED_USER_INFO) };
        if (token.startsWith('hang-')) return { hangUp: true };
        if (token.startsWith('badjson-')) return { status: 200, headers: json, body: '{"uid": "abcd23456", "active": tru' };
        if (token.startsWith('badjson2-')) return { status: 200, headers: { 'content-type': 'application/problem+json' }, body: '<html>' };
        if (token.startsWith('big-')) return { status: 200, headers: json, body: jsonOfSize(MIB + 1) };
        if (token === NEAR_LIMIT) return { status: 200, headers: json, body: jsonOfSize(MIB - 64) };
        if (token === FLAKY) return ++flakyCalls === 1 ? { status: 503, body: '' } : { status: 200, headers: json, body: JSON.stringify(SEED_USER_INFO) };
        return undefined;
      },
    });
    // A validator that misbehaves below what the seed fixture can script: chunked and truncated bodies.
    odd = createServer((req, res) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      oddCalls.set(token, (oddCalls.get(token) ?? 0) + 1);
      req.resume();
      if (token.startsWith('chunked-big-')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        const body = jsonOfSize(MIB + 4096);
        for (let at = 0; at < body.length; at += 64 * 1024) res.write(body.slice(at, at + 64 * 1024));
        res.end();
      } else if (token.startsWith('refusal-big-')) {
        // A refusal with a large page (an HTML login page, say), declared or chunked.
        const page = '<html>' + 'x'.repeat(256 * 1024) + '</html>';
        res.writeHead(401, token.includes('declared') ? { 'content-type': 'text/html', 'content-length': String(page.length) } : { 'content-type': 'text/html' });
        for (let at = 0; at < page.length; at += 16 * 1024) res.write(page.slice(at, at + 16 * 1024));
        res.end();
      } else if (token.startsWith('truncated-')) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"uid":"abcd23456"');
        setTimeout(() => res.socket?.destroy(), 20);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(SEED_USER_INFO)); // chunked, small: allowed (control)
      }
    });
    await listen(odd, 0, '127.0.0.1');
    backend = await startSampleBackend();
    const deadPort = await closedPort();
    const dead = `http://127.0.0.1:${deadPort}/introspect`;
    // The circuit breaker is off here: every case must reach the validator (resilience.test.ts tests the breaker).
    const noBreaker = { circuitBreaker: { failures: 0 } };
    gw = await startTestGateway({
      validators: {
        main: { url: seed.validationUrl, timeoutMs: 200, ...noBreaker },
        dead: { url: dead, timeoutMs: 200, ...noBreaker },
        odd: { url: `${urlOf(odd)}/check`, timeoutMs: 500, ...noBreaker },
        lenient: { url: dead, timeoutMs: 200, onUnavailable: 'deny-401', ...noBreaker },
        lenientLive: { url: seed.validationUrl, timeoutMs: 200, onUnavailable: 'deny-401', ...noBreaker },
      },
      routes: [
        { path: '/main', upstream: backend.url, validator: 'main', identityHeaders: { 'X-User-Id': 'uid' } },
        { path: '/dead', upstream: backend.url, validator: 'dead' },
        { path: '/odd', upstream: backend.url, validator: 'odd' },
        { path: '/d401', upstream: backend.url, validator: 'lenient' },
        { path: '/d401live', upstream: backend.url, validator: 'lenientLive' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => {
      odd.close(() => resolve());
      odd.closeAllConnections();
    });
    await Promise.all([seed.close(), backend.close()]);
  });

  function validatorCalls(name: string): number {
    for (const [config, state] of gw.gateway.runtime().validators) if (config.name === name) return state.calls;
    throw new Error(`no validator ${name}`);
  }

  /** One call: 503 ValidationUnavailableError, Retry-After, no challenge, backend untouched. */
  async function expect503(path: string, token: string): Promise<number> {
    const before = backend.received.length;
    const started = performance.now();
    const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const elapsed = performance.now() - started;
    await assertGatewayError(res, 503, 'ValidationUnavailableError');
    assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'Retry-After in seconds');
    assert.equal(res.headers.get('www-authenticate'), null);
    assert.equal(backend.received.length, before, 'the backend is never called');
    return elapsed;
  }

  /** Twice, and the validator is asked twice: the outcome was not cached. */
  async function expect503Twice(path: string, token: string, calls: () => number): Promise<void> {
    await expect503(path, token);
    assert.equal(calls(), 1, 'first call reached the validator');
    await expect503(path, token);
    assert.equal(calls(), 2, 'an unavailable outcome is never cached: the second request asks again');
  }

  test('control: a good token on each validator is allowed', async () => {
    for (const path of ['/main', '/odd']) {
      const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${GOOD}` } });
      assert.equal(res.status, 200, path);
      await res.text();
    }
    assert.equal(backend.received.length, 2);
  });

  test('validator unreachable (closed port): 503, not cached', async () => {
    const token = 'unreachable-0001';
    await expect503Twice('/dead', token, () => validatorCalls('dead'));
  });

  for (const status of [500, 502, 503, 504, 429]) {
    test(`validator answers ${status} (with a user-info body): 503, not cached`, async () => {
      const token = `status-${status}-token`;
      await expect503Twice('/main', token, () => seed.calls.get(token) ?? 0);
    });
  }

  test('validator times out (answers after 700 ms, timeoutMs 200): 503 within the deadline, not cached', async () => {
    const token = 'slow-token-0001';
    const elapsed = await expect503('/main', token);
    assert.ok(elapsed < 650, `answered in ${Math.round(elapsed)} ms, before the validator did`);
    assert.equal(seed.calls.get(token), 1);
    await expect503('/main', token);
    assert.equal(seed.calls.get(token), 2);
  });

  test('validator hangs up without answering: 503, not cached', async () => {
    const token = 'hang-token-0001';
    await expect503Twice('/main', token, () => seed.calls.get(token) ?? 0);
  });

  test('validator answers 200 application/json that is not JSON: 503, not cached', async () => {
    const token = 'badjson-token-0001';
    await expect503Twice('/main', token, () => seed.calls.get(token) ?? 0);
  });

  test('validator answers 200 +json that is not JSON: 503', async () => {
    const token = 'badjson2-token-0001';
    await expect503Twice('/main', token, () => seed.calls.get(token) ?? 0);
  });

  test('answer over 1 MiB with Content-Length: 503, not cached', async () => {
    const token = 'big-token-0001';
    await expect503Twice('/main', token, () => seed.calls.get(token) ?? 0);
  });

  test('control: an answer just under 1 MiB is read and allowed', async () => {
    const res = await fetch(`${gw.url}/main`, { headers: { authorization: `Bearer ${NEAR_LIMIT}` } });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(backend.received.at(-1)!.headers['x-user-id'], 'big');
  });

  test('answer over 1 MiB, chunked (no Content-Length): 503, not cached', async () => {
    const token = 'chunked-big-0001';
    await expect503Twice('/odd', token, () => oddCalls.get(token) ?? 0);
  });

  for (const framing of ['declared', 'chunked']) {
    test(`a refusal with a body over the refusal read bound (${framing}) is still a refusal: 401, never 503`, async () => {
      const token = `refusal-big-${framing}-0001`;
      const before = backend.received.length;
      const res = await fetch(`${gw.url}/odd`, { headers: { authorization: `Bearer ${token}` } });
      await assertGatewayError(res, 401, 'InvalidTokenError');
      assert.equal(backend.received.length, before, 'the backend is never called');
      // The connection given up is not reused: the next call still gets its answer.
      const good = await fetch(`${gw.url}/odd`, { headers: { authorization: 'Bearer chunked-small-0001' } });
      assert.equal(good.status, 200);
      await good.text();
    });
  }

  test('answer cut short (Content-Length 1000, connection closed after 18 bytes): 503, not cached', async () => {
    const token = 'truncated-0001';
    await expect503Twice('/odd', token, () => oddCalls.get(token) ?? 0);
  });

  test('onUnavailable: deny-401, validator unreachable: 401 invalid_token, no Retry-After, not cached', async () => {
    const token = 'deny401-dead-0001';
    for (let i = 1; i <= 2; i++) {
      const before = backend.received.length;
      const res = await fetch(`${gw.url}/d401`, { headers: { authorization: `Bearer ${token}` } });
      await assertGatewayError(res, 401, 'InvalidTokenError');
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tokengate", error="invalid_token"');
      assert.equal(res.headers.get('retry-after'), null);
      assert.equal(backend.received.length, before);
      assert.equal(validatorCalls('lenient'), i);
    }
  });

  test('onUnavailable: deny-401, validator 503: 401 invalid_token, not cached', async () => {
    const token = 'status-503-deny401';
    for (let i = 1; i <= 2; i++) {
      const before = backend.received.length;
      const res = await fetch(`${gw.url}/d401live`, { headers: { authorization: `Bearer ${token}` } });
      await assertGatewayError(res, 401, 'InvalidTokenError');
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tokengate", error="invalid_token"');
      assert.equal(backend.received.length, before);
      assert.equal(seed.calls.get(token), i);
    }
  });

  test('after an unavailable answer, the same token is judged afresh once the validator recovers', async () => {
    await expect503('/main', FLAKY);
    const res = await fetch(`${gw.url}/main`, { headers: { authorization: `Bearer ${FLAKY}` } });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(seed.calls.get(FLAKY), 2);
    assert.equal(backend.received.at(-1)!.headers['x-user-id'], 'abcd23456');
  });

  test('every unavailable outcome is logged as an error with a reason', () => {
    const errors = gw.logs.requests().filter((line) => line.status === 503);
    assert.ok(errors.length >= 20, `got ${errors.length} 503 access lines`);
    for (const line of errors) {
      assert.equal(line.outcome, 'error');
      assert.match(String(line.reason), /^validator_/);
    }
  });
});
