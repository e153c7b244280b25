/**
 * A hostile client (127.0.0.2) beside a well-behaved one (127.0.0.1): what one client address may
 * spend of the validator, and what it can break for the others (SPEC section 8, RFC 7662 section 4).
 *
 * - (a) failures the hostile client causes (503, 429, timeouts, resets) never open the circuit
 *   breaker on their own: each client counts once per run of failures;
 * - (b) a flood of random tokens spends only the hostile client's budget of calls per second, so a
 *   validator that throttles above that rate never throttles the others;
 * - (c) never-answered tokens fill only the hostile client's budget of calls in flight;
 * - (d) a 100,000-token oracle: with invalidTokenRate the validator hears about ~20 of them;
 * - (e) behind a trusted proxy, each X-Forwarded-For user has a budget of its own, and a spoofed
 *   left-most entry changes nothing.
 *
 * Every loop is bounded in count and in time; every server is closed in `after`.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, fetch } from 'undici';
import { clockNow } from '../../src/cache/token-result.js';
import { errorOf, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type ScriptedAnswer, type SeedEndpoint } from '../fixtures/seed-endpoint.js';

const HOSTILE = '127.0.0.2';
const GOOD = '127.0.0.1';

/** How long a "hanging" answer waits: longer than every validator timeoutMs below. */
const HANG_MS = 2_500;
/** Validator "thr" (scenario b) answers 429 once it has had more than this many calls in the last second. */
const THROTTLE_ABOVE = 60;

/** Call times of the throttling validator, and how often it did throttle. */
const throttleCalls: number[] = [];
let throttled = 0;

/**
 * The validator's behaviour by token prefix: `ok-` valid (200 with uid), `f503-` 503, `f429-` 429,
 * `hang-` answers after HANG_MS, `reset-` drops the connection after reading the request; any other
 * token gets the seed's 401. The `v` query parameter names the validator configuration calling.
 */
function script(token: string, req: { url?: string }): ScriptedAnswer | undefined {
  const v = new URL(req.url ?? '/', 'http://validator').searchParams.get('v');
  if (v === 'thr') {
    const now = Date.now();
    throttleCalls.push(now);
    const inLastSecond = throttleCalls.filter((t) => t > now - 1_000).length;
    if (inLastSecond > THROTTLE_ABOVE) {
      throttled++;
      return { status: 429, body: 'slow down' };
    }
  }
  if (token.startsWith('ok-')) return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ uid: token }) };
  if (token.startsWith('f503-')) return { status: 503, body: 'down' };
  if (token.startsWith('f429-')) return { status: 429, body: 'busy' };
  if (token.startsWith('hang-')) return { status: 200, headers: { 'content-type': 'application/json' }, body: '{}', delayMs: HANG_MS };
  if (token.startsWith('reset-')) return { hangUp: true };
  return undefined;
}

let seed: SeedEndpoint;
let backend: SampleBackend;
const agents = new Map<string, Agent>();

function agentAt(address: string): Agent {
  let agent = agents.get(address);
  if (agent === undefined) agents.set(address, (agent = new Agent({ localAddress: address, connections: 64 })));
  return agent;
}

interface Answer {
  readonly status: number;
  readonly type: string | null;
  readonly retryAfter: string | null;
  readonly reachedBackend: boolean;
}

let requests = 0;

/** One GET with `token` from `from`; bounded by a 5 s deadline so a stuck gateway fails the test. */
async function get(gw: TestGateway, route: string, token: string | null, from: string, extra: Record<string, string> = {}): Promise<Answer> {
  // A path of its own, so that what reached the backend is known even with requests running at once.
  const path = `${route}/r${++requests}`;
  const before = backend.received.length;
  const headers: Record<string, string> = { ...extra };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${gw.url}${path}`, { headers, dispatcher: agentAt(from), signal: AbortSignal.timeout(5_000) });
  const body = await res.text();
  const type = res.headers.get('content-type') === 'application/json' && body.startsWith('{"errors"') ? errorOf(body).type : null;
  return { status: res.status, type, retryAfter: res.headers.get('retry-after'), reachedBackend: backend.received.slice(before).some((r) => r.url === path) };
}

const calls = (token: string): number => seed.calls.get(token) ?? 0;
let serial = 0;
/** A token nobody has sent before, with `prefix` (which picks the validator's behaviour). */
const fresh = (prefix: string): string => `${prefix}${process.pid}-${++serial}-${Math.random().toString(36).slice(2, 10)}`;

function stateOf(gw: TestGateway, name: string) {
  const state = [...gw.gateway.runtime().validators.values()].find((s) => s.config.name === name);
  assert.ok(state !== undefined, `validator ${name}`);
  return state;
}

function assertUnavailable(a: Answer, what: string): void {
  assert.equal(a.status, 503, what);
  assert.equal(a.type, 'ValidationUnavailableError', what);
  assert.equal(a.reachedBackend, false, `${what}: never reaches the backend`);
}

before(async () => {
  seed = await startSeedEndpoint({ script });
  backend = await startSampleBackend();
});
after(async () => {
  await Promise.all([...agents.values()].map((agent) => agent.close()));
  await Promise.all([seed.close(), backend.close()]);
});

describe('(a) a hostile client alone cannot open the circuit breaker', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      validators: {
        v: { url: seed.validationUrl, query: { v: 'a' }, timeoutMs: 400, circuitBreaker: { failures: 3, cooldownSeconds: 30 } },
        control: { url: seed.validationUrl, query: { v: 'a-control' }, timeoutMs: 400, circuitBreaker: { failures: 3, cooldownSeconds: 30 } },
      },
      routes: [
        { path: '/api', upstream: backend.url, validator: 'v' },
        { path: '/control', upstream: backend.url, validator: 'control' },
      ],
    });
  });
  after(() => gw.close());

  test('16 failures in a row from 127.0.0.2 (503, 429, timeouts, resets), 5 times the threshold: every one is a call, the breaker stays closed, the well-behaved client\'s new token gets 200', async () => {
    const failing = [...['f503-', 'f429-', 'hang-', 'reset-'].flatMap((prefix) => Array.from({ length: 4 }, () => fresh(prefix)))];
    // Sequentially: a consecutive run of 16 unavailable answers, which opened the circuit under the old rule (3).
    for (const token of failing) assertUnavailable(await get(gw, '/api', token, HOSTILE), token.split('-')[0]);
    for (const token of failing) assert.equal(calls(token), 1, `${token.split('-')[0]}: the breaker never refused the call`);
    assert.equal(stateOf(gw, 'v').breaker.isOpen(clockNow()), false, 'the circuit is closed');

    const mine = fresh('ok-');
    const good = await get(gw, '/api', mine, GOOD);
    assert.equal(good.status, 200);
    assert.equal(good.reachedBackend, true);
    assert.equal(calls(mine), 1, 'the well-behaved token was validated by a call');

    // And the hostile client's next failure is still a real call, not a refusal by an open circuit.
    const again = fresh('f503-');
    assertUnavailable(await get(gw, '/api', again, HOSTILE), 'again');
    assert.equal(calls(again), 1);
    const reasons = gw.logs.requests().filter((line) => String(line.path).startsWith('/api/')).map((line) => line.reason);
    assert.equal(reasons.includes('validator_circuit_open'), false, 'no request was refused by an open circuit');
  });

  test('control: three distinct clients failing do open it (so the test above is not vacuous): the next new token gets 503 without a call', async () => {
    for (const from of ['127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      const token = fresh('f503-');
      assertUnavailable(await get(gw, '/control', token, from), from);
      assert.equal(calls(token), 1);
    }
    assert.equal(stateOf(gw, 'control').breaker.isOpen(clockNow()), true);
    const mine = fresh('ok-');
    assertUnavailable(await get(gw, '/control', mine, GOOD), 'open circuit');
    assert.equal(calls(mine), 0, 'no call while open');
    const last = gw.logs.requests().filter((line) => String(line.path).startsWith('/control/')).at(-1);
    assert.equal(last?.reason, 'validator_circuit_open');
  });
});

describe('(b) a flood of random tokens spends only the flooder\'s budget of calls per second', () => {
  const PER_SECOND = 20;
  const IN_FLIGHT = 8;
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, clientLimits: { validatorCallsInFlight: IN_FLIGHT, validatorCallsPerSecond: PER_SECOND } },
      validators: { thr: { url: seed.validationUrl, query: { v: 'thr' }, timeoutMs: 1_000 } },
      routes: [{ path: '/api', upstream: backend.url }],
    });
  });
  after(() => gw.close());

  test(`the validator (429 above ${THROTTLE_ABOVE} calls/s) is never throttled; the flooder's calls stay within ${PER_SECOND}/s plus one burst; the well-behaved client always gets 200`, async (t) => {
    const FLOOD_MS = 1_500;
    const started = performance.now();
    const deadline = started + FLOOD_MS;
    const flood: { token: string; answer: Answer }[] = [];
    // 16 concurrent loops of random tokens, bounded by time and by count.
    const loops = Array.from({ length: 16 }, async () => {
      for (let i = 0; i < 2_000 && performance.now() < deadline; i++) {
        const token = fresh('rand-');
        flood.push({ token, answer: await get(gw, '/api', token, HOSTILE) });
      }
    });
    const goodAnswers: Answer[] = [];
    const goodLoop = (async () => {
      for (let i = 0; i < 30 && performance.now() < deadline; i++) {
        goodAnswers.push(await get(gw, '/api', fresh('ok-'), GOOD));
        await sleep(100);
      }
    })();
    await Promise.all([...loops, goodLoop]);
    const elapsedSeconds = (performance.now() - started) / 1000;

    assert.ok(goodAnswers.length >= 5, `the well-behaved client made ${goodAnswers.length} requests`);
    for (const a of goodAnswers) {
      assert.equal(a.status, 200, `well-behaved: ${JSON.stringify(a)}`);
      assert.equal(a.reachedBackend, true);
    }
    assert.equal(throttled, 0, 'the validator never had to throttle');

    const called = flood.filter((f) => calls(f.token) > 0);
    const budget = PER_SECOND + PER_SECOND * elapsedSeconds + 2; // a full bucket, then the refill
    t.diagnostic(`flood: ${flood.length} requests in ${elapsedSeconds.toFixed(2)} s, ${called.length} of them validator calls (budget ${budget.toFixed(0)}), ${goodAnswers.length} well-behaved 200s`);
    assert.ok(flood.length > budget * 3, `the flood was a flood (${flood.length} requests)`);
    assert.ok(called.length <= budget, `the validator heard ${called.length} of the flooder's tokens in ${elapsedSeconds.toFixed(2)} s (budget ${budget.toFixed(0)})`);
    for (const f of called) assert.equal(f.answer.status, 401, 'a random token that was asked about is invalid');
    const refused = flood.filter((f) => calls(f.token) === 0);
    assert.ok(refused.length > 0);
    for (const f of refused) {
      assert.equal(f.answer.status, 429);
      assert.equal(f.answer.type, 'TooManyRequestsError');
      assert.equal(f.answer.retryAfter, '1');
      assert.equal(f.answer.reachedBackend, false);
    }
  });
});

describe('(c) never-answered tokens fill only the hostile client\'s call slots', () => {
  const IN_FLIGHT = 4;
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      // maxConcurrentCalls 8: without a per-client bound, 8 hanging calls would lock everyone out.
      server: { host: '127.0.0.1', port: 0, clientLimits: { validatorCallsInFlight: IN_FLIGHT, validatorCallsPerSecond: 1_000 } },
      validators: { hang: { url: seed.validationUrl, query: { v: 'c' }, timeoutMs: 1_500, maxConcurrentCalls: 8 } },
      routes: [{ path: '/api', upstream: backend.url }],
    });
  });
  after(() => gw.close());

  test('40 hanging tokens at once from 127.0.0.2: 4 calls, 36 refused with 429 at once; meanwhile the well-behaved client\'s new token validates', async () => {
    const tokens = Array.from({ length: 40 }, () => fresh('hang-'));
    const hostile = Promise.all(tokens.map((token) => get(gw, '/api', token, HOSTILE)));
    // Bounded wait until the hostile calls are in flight.
    for (let i = 0; i < 50 && stateOf(gw, 'hang').active < IN_FLIGHT; i++) await sleep(20);
    assert.equal(stateOf(gw, 'hang').active, IN_FLIGHT, 'the hostile client holds exactly its own slots');

    const mine = fresh('ok-');
    const good = await get(gw, '/api', mine, GOOD);
    assert.equal(good.status, 200, 'a new token of another client is validated while the hostile calls hang');
    assert.equal(calls(mine), 1);

    const answers = await hostile;
    const hung = tokens.filter((t) => calls(t) > 0);
    assert.equal(hung.length, IN_FLIGHT, 'the validator saw only the budget of calls in flight');
    for (let i = 0; i < tokens.length; i++) {
      if (calls(tokens[i]) > 0) {
        assertUnavailable(answers[i], 'a hanging call times out');
      } else {
        assert.equal(answers[i].status, 429);
        assert.equal(answers[i].type, 'TooManyRequestsError');
        assert.equal(answers[i].retryAfter, '1');
      }
    }
  });

  test('residual (documented, per address): two hostile addresses together can fill maxConcurrentCalls', async () => {
    const tokens = ['127.0.0.2', '127.0.0.3'].flatMap((from) => Array.from({ length: IN_FLIGHT }, () => ({ from, token: fresh('hang-') })));
    const hostile = Promise.all(tokens.map(({ from, token }) => get(gw, '/api', token, from)));
    for (let i = 0; i < 50 && stateOf(gw, 'hang').active < 8; i++) await sleep(20);
    assert.equal(stateOf(gw, 'hang').active, 8);
    const mine = fresh('ok-');
    assertUnavailable(await get(gw, '/api', mine, GOOD), 'validator_overloaded');
    assert.equal(calls(mine), 0);
    await hostile;
  });
});

/** Pipelined GETs of `tokens` over `connections` raw sockets from `localAddress`; counts what came back. */
async function pipelineFlood(gw: TestGateway, path: string, tokens: readonly string[], localAddress: string, connections: number) {
  const { port } = new URL(gw.url);
  const counts = { responses: 0, s429: 0, s401: 0, invalidTokens: 0, budget: 0, retryAfter60: 0, retryAfter1: 0, other: 0, otherStatuses: new Set<string>() };
  const perSocket = Math.ceil(tokens.length / connections);
  await Promise.all(
    Array.from({ length: connections }, (_, c) => {
      const mine = tokens.slice(c * perSocket, (c + 1) * perSocket);
      return new Promise<void>((resolve, reject) => {
        const socket = connect({ port: Number(port), host: '127.0.0.1', localAddress });
        const timer = setTimeout(() => socket.destroy(new Error('flood connection took over 15 s')), 15_000);
        let tail = '';
        socket.on('data', (chunk: Buffer) => {
          const text = tail + chunk.toString('latin1');
          // Count whole responses only: keep the last partial one for the next chunk.
          const end = text.lastIndexOf('HTTP/1.1 ');
          const whole = end <= 0 ? '' : text.slice(0, end);
          tail = end <= 0 ? text : text.slice(end);
          count(whole);
        });
        const count = (text: string) => {
          for (const m of text.matchAll(/HTTP\/1\.1 (\d{3}) /g)) {
            counts.responses++;
            if (m[1] === '429') counts.s429++;
            else if (m[1] === '401') counts.s401++;
            else {
              counts.other++;
              counts.otherStatuses.add(m[1]);
            }
          }
          counts.invalidTokens += text.split('"TooManyInvalidTokensError"').length - 1;
          counts.budget += text.split('"TooManyRequestsError"').length - 1;
          counts.retryAfter60 += text.split('retry-after: 60\r\n').length - 1;
          counts.retryAfter1 += text.split('retry-after: 1\r\n').length - 1;
        };
        socket.on('error', reject);
        socket.on('close', () => {
          clearTimeout(timer);
          count(tail);
          resolve();
        });
        const host = `host: 127.0.0.1:${port}`;
        const requests = mine.map((token, i) => `GET ${path} HTTP/1.1\r\n${host}\r\nauthorization: Bearer ${token}\r\n${i === mine.length - 1 ? 'connection: close\r\n' : ''}\r\n`);
        socket.write(requests.join(''), 'latin1');
      });
    }),
  );
  return counts;
}

describe('(d) the 100,000-token oracle: invalidTokenRate { perMinute: 20 }', () => {
  const PER_MINUTE = 20;
  const IN_FLIGHT = 32; // the default clientLimits.validatorCallsInFlight
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, invalidTokenRate: { perMinute: PER_MINUTE } },
      // The seed endpoint shares this process with the flood: give it time to answer.
      validators: { v: { url: seed.validationUrl, query: { v: 'd' }, timeoutMs: 10_000 } },
      routes: [{ path: '/api', upstream: backend.url }],
    });
  });
  after(() => gw.close());

  test('random tokens from 127.0.0.2 cost at most ~20 validator calls (plus the calls in flight), then 429 with Retry-After: 60 and no call; the hostile client\'s cached valid token still passes; the well-behaved client is unaffected', async (t) => {
    const cachedValid = fresh('ok-');
    const first = await get(gw, '/api', cachedValid, HOSTILE);
    assert.equal(first.status, 200, 'the hostile client has a valid token, cached now');

    const N = 100_000;
    const tokens = Array.from({ length: N }, (_, i) => `rand-${process.pid}-${i}-${Math.random().toString(36).slice(2, 12)}`);
    const before = seed.totalCalls();
    const counts = await pipelineFlood(gw, '/api', tokens, HOSTILE, 8);
    const asked = seed.totalCalls() - before;
    t.diagnostic(`oracle: ${N} tokens, ${asked} validator calls, ${counts.s401} answered 401, ${counts.invalidTokens} TooManyInvalidTokensError, ${counts.budget} TooManyRequestsError`);

    assert.equal(counts.responses, N, 'every request was answered');
    assert.equal(counts.other, 0, `other statuses: ${[...counts.otherStatuses].join(', ')}`);
    assert.ok(asked <= PER_MINUTE + IN_FLIGHT + 1, `the validator heard about ${asked} of ${N} tokens`);
    assert.ok(asked >= PER_MINUTE, `at least the allowed ${PER_MINUTE} were asked about (got ${asked})`);
    // Calls already in flight when the rate is crossed are answered 429 too: only the first ones get a verdict.
    assert.ok(counts.s401 > PER_MINUTE && counts.s401 <= asked, `${counts.s401} tokens were judged invalid (401), all of them asked about`);
    assert.equal(counts.s429, N - counts.s401, 'every other token got 429');
    // While the first calls are in flight, the budget of calls in flight refuses (TooManyRequestsError,
    // Retry-After: 1); once the rate is crossed, TooManyInvalidTokensError (Retry-After: 60). Neither makes a call.
    assert.equal(counts.invalidTokens + counts.budget, counts.s429, 'every 429 is one of the two client limits');
    assert.ok(counts.invalidTokens > N / 2, `TooManyInvalidTokensError: ${counts.invalidTokens}, TooManyRequestsError: ${counts.budget}`);
    assert.equal(counts.retryAfter60, counts.invalidTokens, 'each TooManyInvalidTokensError carries Retry-After: 60');
    assert.equal(counts.retryAfter1, counts.budget, 'each TooManyRequestsError carries Retry-After: 1');

    // Now: a cached valid token of the hostile client still passes; a new one (valid or not) gets 429, no call.
    const cached = await get(gw, '/api', cachedValid, HOSTILE);
    assert.equal(cached.status, 200);
    assert.equal(cached.reachedBackend, true);
    assert.equal(calls(cachedValid), 1, 'served from the cache');
    for (const token of [fresh('ok-'), fresh('rand-')]) {
      const refused = await get(gw, '/api', token, HOSTILE);
      assert.equal(refused.status, 429);
      assert.equal(refused.type, 'TooManyInvalidTokensError');
      assert.equal(refused.retryAfter, '60');
      assert.equal(refused.reachedBackend, false);
      assert.equal(calls(token), 0, 'no call for a refused token');
    }

    // The well-behaved client: its invalid token is judged (401, a call), its new valid token passes.
    const wrong = fresh('rand-');
    assert.equal((await get(gw, '/api', wrong, GOOD)).status, 401);
    assert.equal(calls(wrong), 1);
    const right = fresh('ok-');
    const mine = await get(gw, '/api', right, GOOD);
    assert.equal(mine.status, 200);
    assert.equal(mine.reachedBackend, true);
  });
});

describe('(e) trustedProxies: the users behind a trusted proxy have budgets of their own', () => {
  const PER_MINUTE = 5;
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, invalidTokenRate: { perMinute: PER_MINUTE }, trustedProxies: ['127.0.0.1/32'] },
      validators: { v: { url: seed.validationUrl, query: { v: 'e' }, timeoutMs: 1_000 } },
      routes: [{ path: '/api', upstream: backend.url }],
    });
  });
  after(() => gw.close());

  const viaProxy = (xff: string) => ({ 'x-forwarded-for': xff });

  test('user 10.0.0.1 runs out; user 10.0.0.2 behind the same proxy does not; spoofed left-most entries change neither; a direct client is its socket address', async () => {
    // 10.0.0.1 sends PER_MINUTE + 1 invalid tokens: all judged, then it is over the rate.
    for (let i = 0; i <= PER_MINUTE; i++) {
      const token = fresh('rand-');
      assert.equal((await get(gw, '/api', token, GOOD, viaProxy('10.0.0.1'))).status, 401);
      assert.equal(calls(token), 1);
    }
    const refused = fresh('rand-');
    const a = await get(gw, '/api', refused, GOOD, viaProxy('10.0.0.1'));
    assert.equal(a.status, 429);
    assert.equal(a.type, 'TooManyInvalidTokensError');
    assert.equal(calls(refused), 0);

    // A spoofed left-most entry (what the user itself sent before the proxy appended its address) is ignored.
    for (const xff of ['10.0.0.2, 10.0.0.1', '10.0.0.9, 10.0.0.1', '127.0.0.1, 10.0.0.1', 'garbage, 10.0.0.1']) {
      const token = fresh('ok-');
      const r = await get(gw, '/api', token, GOOD, viaProxy(xff));
      assert.equal(r.status, 429, `X-Forwarded-For: ${xff} is still 10.0.0.1`);
      assert.equal(calls(token), 0);
    }

    // 10.0.0.2, behind the same proxy, has its own budget: judged by a call, valid tokens pass.
    const hers = fresh('ok-');
    const b = await get(gw, '/api', hers, GOOD, viaProxy('10.0.0.2'));
    assert.equal(b.status, 200);
    assert.equal(b.reachedBackend, true);
    assert.equal(calls(hers), 1);
    const herWrong = fresh('rand-');
    assert.equal((await get(gw, '/api', herWrong, GOOD, viaProxy('10.0.0.1, 10.0.0.2'))).status, 401, 'a spoofed 10.0.0.1 on the left does not make 10.0.0.2 pay for it');
    assert.equal(calls(herWrong), 1);

    // A client that is not a trusted proxy is its socket address, whatever X-Forwarded-For it sends.
    const direct = fresh('ok-');
    const d = await get(gw, '/api', direct, HOSTILE, viaProxy('10.0.0.1'));
    assert.equal(d.status, 200, '127.0.0.2 claiming to be 10.0.0.1 is not 10.0.0.1');
    assert.equal(calls(direct), 1);
  });

  test('10.0.0.2 spending its budget of calls in flight does not spend 10.0.0.3\'s', async () => {
    const local = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, trustedProxies: ['127.0.0.1/32'], clientLimits: { validatorCallsInFlight: 2, validatorCallsPerSecond: 1_000 } },
      validators: { v: { url: seed.validationUrl, query: { v: 'e2' }, timeoutMs: 800 } },
      routes: [{ path: '/api', upstream: backend.url }],
    });
    try {
      const hanging = Array.from({ length: 6 }, () => fresh('hang-'));
      const pending = Promise.all(hanging.map((token) => get(local, '/api', token, GOOD, viaProxy('10.0.0.2'))));
      for (let i = 0; i < 50 && stateOf(local, 'v').active < 2; i++) await sleep(20);
      const mine = fresh('ok-');
      assert.equal((await get(local, '/api', mine, GOOD, viaProxy('10.0.0.3'))).status, 200);
      const answers = await pending;
      assert.equal(answers.filter((a) => a.status === 429).length, 4, '10.0.0.2 got two calls, then 429');
      assert.equal(hanging.filter((t) => calls(t) > 0).length, 2);
    } finally {
      await local.close();
    }
  });
});
