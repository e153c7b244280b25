/**
 * Request-level tricks that make the gateway and the backend disagree about who is asking or what
 * is asked: several Authorization headers, a token where the route does not take it, hop-by-hop
 * headers (RFC 9110 section 7.6.1) used to drop the gateway's own headers or to leak proxy
 * credentials, ambiguous framing (Content-Length with Transfer-Encoding) and pipelining.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type ReceivedRequest, type SampleBackend } from '../fixtures/sample-backend.js';
import { errorOf, headerBytes, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { hostOf } from './support.js';

const GOOD = '8dbd30ed-2e19-42cf-9b86-aaaaaaaa';
const OTHER = '8dbd30ed-2e19-42cf-9b86-bbbbbbbb';

/** Writes `bytes` on one connection, half-closes after `waitMs`, returns every status code answered. */
function exchange(url: string, bytes: string, waitMs = 300): Promise<number[]> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let out = '';
    socket.on('data', (chunk: Buffer) => (out += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve([...out.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))));
    socket.write(bytes, 'latin1');
    setTimeout(() => socket.end(), waitMs);
  });
}

describe('request smuggling basics', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    seed = await startSeedEndpoint({ users: new Map<string, unknown>([[GOOD, SEED_USER_INFO], [OTHER, { ...SEED_USER_INFO, uid: 'other-user' }]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { main: { url: seed.validationUrl, timeoutMs: 200 } },
      routes: [
        { path: '/api', upstream: backend.url, identityHeaders: { 'X-User-Id': 'uid' } },
        { path: '/q', upstream: backend.url, tokenFrom: ['query'], identityHeaders: { 'X-User-Id': 'uid' } },
        { path: '/public', upstream: backend.url, auth: 'none' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  const head = (requestLine: string, ...headers: string[]) => [requestLine, `host: ${hostOf(gw.url)}`, ...headers].join('\r\n');

  /** Runs `send`, asserting that neither the backend nor the validator was called. */
  async function untouched<T>(send: () => Promise<T>): Promise<T> {
    const backendBefore = backend.received.length;
    const validatorBefore = seed.totalCalls();
    const result = await send();
    assert.equal(backend.received.length, backendBefore, 'the backend is never called');
    assert.equal(seed.totalCalls(), validatorBefore, 'the validator is never called');
    return result;
  }
  async function allowedOnce(requestHead: string): Promise<ReceivedRequest> {
    const before = backend.received.length;
    const res = await rawRequest(gw.url, requestHead);
    assert.equal(res.status, 200, res.body);
    assert.equal(backend.received.length, before + 1);
    return backend.received.at(-1)!;
  }

  for (const [label, second] of [
    ['the same token twice', `Authorization: Bearer ${GOOD}`],
    ['two different tokens', `authorization: Bearer ${OTHER}`],
    ['a Basic and a Bearer', 'AUTHORIZATION: Basic Z3c6czNjcmV0'],
  ] as const) {
    test(`two Authorization headers (${label}): 400 invalid_request, backend and validator never called`, async () => {
      const res = await untouched(() => rawRequest(gw.url, head('GET /api HTTP/1.1', `Authorization: Bearer ${GOOD}`, second)));
      assert.equal(res.status, 400);
      assert.equal(errorOf(res.body).type, 'InvalidRequestError');
      assert.deepEqual(res.headers.get('www-authenticate'), ['Bearer realm="tokengate", error="invalid_request"']);
    });
  }

  test('a Bearer header on a tokenFrom: [query] route: 400, even with a query token too', async () => {
    const alone = await untouched(() => rawRequest(gw.url, head('GET /q HTTP/1.1', `authorization: Bearer ${GOOD}`)));
    assert.equal(alone.status, 400);
    assert.equal(errorOf(alone.body).type, 'InvalidRequestError');
    const both = await untouched(() => rawRequest(gw.url, head(`GET /q?access_token=${OTHER} HTTP/1.1`, `authorization: Bearer ${GOOD}`)));
    assert.equal(both.status, 400);
  });

  test('a query token on a header-only route: 400; two query tokens: 400', async () => {
    const res = await untouched(() => rawRequest(gw.url, head(`GET /api?access_token=${GOOD} HTTP/1.1`)));
    assert.equal(res.status, 400);
    const twice = await untouched(() => rawRequest(gw.url, head(`GET /q?access_token=${GOOD}&access_token=${OTHER} HTTP/1.1`)));
    assert.equal(twice.status, 400);
    const encodedName = await untouched(() => rawRequest(gw.url, head(`GET /q?access_token=${GOOD}&access%5Ftoken=${OTHER} HTTP/1.1`)));
    assert.equal(encodedName.status, 400, 'a percent-encoded parameter name is the same parameter');
  });

  test('the query token is removed before forwarding, the rest of the query kept byte for byte', async () => {
    const got = await allowedOnce(head(`GET /q/x?a=%2F1&access_token=${GOOD}&b=c+d HTTP/1.1`));
    assert.equal(got.url, '/q/x?a=%2F1&b=c+d');
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from('abcd23456')]);
  });

  test('"Connection: X-User-Id" cannot make the gateway drop its own identity header, nor keep the forged one', async () => {
    const got = await allowedOnce(head('GET /api HTTP/1.1', 'Connection: keep-alive, X-User-Id', 'X-User-Id: admin', `authorization: Bearer ${GOOD}`));
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from('abcd23456')]);
  });

  test('"Connection: X-Forwarded-*" cannot remove what the gateway adds', async () => {
    const got = await allowedOnce(head('GET /api HTTP/1.1', 'Connection: X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto', `authorization: Bearer ${GOOD}`));
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-forwarded-for'), [Buffer.from('127.0.0.1')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-forwarded-proto'), [Buffer.from('http')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-forwarded-host'), [Buffer.from(hostOf(gw.url))]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from('abcd23456')]);
  });

  test('"Connection: Authorization" does not skip validation', async () => {
    const res = await untouched(() => rawRequest(gw.url, head('GET /api HTTP/1.1', 'Connection: Authorization', 'Authorization: Basic Z3c6czNjcmV0')));
    assert.equal(res.status, 401, 'a non-Bearer Authorization is no token: 401 MissingTokenError');
    assert.equal(errorOf(res.body).type, 'MissingTokenError');
  });

  test('forged X-Forwarded-* values are replaced (For is appended to, never trusted alone)', async () => {
    const got = await allowedOnce(head('GET /public HTTP/1.1', 'X-Forwarded-Host: admin.internal', 'X-Forwarded-Proto: https', 'X-Forwarded-For: 10.0.0.1'));
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-forwarded-host'), [Buffer.from(hostOf(gw.url))]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-forwarded-proto'), [Buffer.from('http')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-forwarded-for'), [Buffer.from('10.0.0.1, 127.0.0.1')]);
  });

  for (const path of ['/public', '/api']) {
    test(`hop-by-hop headers sent by the client do not reach the backend (${path})`, async () => {
      const got = await allowedOnce(
        head(
          `GET ${path}/hop HTTP/1.1`,
          'Keep-Alive: timeout=600, max=1000',
          'TE: trailers, deflate',
          'Trailer: X-Trailing',
          'Upgrade: h2c',
          'Proxy-Authorization: Basic cHJveHk6c2VjcmV0',
          'Proxy-Connection: keep-alive',
          'Proxy-Authenticate: Basic realm="x"',
          'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
          'X-Hop-One: 1',
          'X-Hop-Two: 2',
          'Connection: keep-alive, X-Hop-One',
          'connection: x-hop-two',
          'X-End-To-End: kept',
          `authorization: Bearer ${GOOD}`,
        ),
      );
      for (const name of ['keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection', 'proxy-authenticate', 'http2-settings', 'x-hop-one', 'x-hop-two']) {
        assert.deepEqual(headerBytes(got.rawHeaders, name), [], `${name} must not be forwarded`);
      }
      for (const value of headerBytes(got.rawHeaders, 'connection')) assert.doesNotMatch(value.toString('latin1'), /x-hop|upgrade/i);
      assert.deepEqual(headerBytes(got.rawHeaders, 'x-end-to-end'), [Buffer.from('kept')], 'an end-to-end header is kept');
      assert.equal(JSON.stringify(got.rawHeaders).includes('cHJveHk6c2VjcmV0'), false, 'proxy credentials never leak');
    });
  }

  for (const [label, framing] of [
    ['Content-Length and Transfer-Encoding', ['Content-Length: 6', 'Transfer-Encoding: chunked']],
    ['two Transfer-Encoding headers', ['Transfer-Encoding: chunked', 'Transfer-Encoding: identity']],
    ['Transfer-Encoding "chunked, identity"', ['Transfer-Encoding: chunked, identity']],
    ['Transfer-Encoding "xchunked"', ['Transfer-Encoding: xchunked']],
    ['two different Content-Length headers', ['Content-Length: 5', 'Content-Length: 41']],
    ['a signed Content-Length', ['Content-Length: +5']],
  ] as const) {
    test(`ambiguous framing (${label}): 400, nothing forwarded`, async () => {
      const smuggled = `GET /api/secret HTTP/1.1\r\nhost: x\r\n\r\n`;
      const statuses = await untouched(() => exchange(gw.url, `${head('POST /public/a HTTP/1.1', ...framing)}\r\n\r\n0\r\n\r\n${smuggled}`));
      assert.deepEqual(statuses, [400]);
    });
  }

  test('a request hidden in a body stays a body (Content-Length and chunked): one backend request, no /api call', async () => {
    const smuggled = `GET /api/secret HTTP/1.1\r\nhost: x\r\n\r\n`;
    const before = backend.received.length;
    const byLength = await exchange(gw.url, `${head('POST /public/a HTTP/1.1', `Content-Length: ${smuggled.length}`, 'Connection: close')}\r\n\r\n${smuggled}`);
    assert.deepEqual(byLength, [200]);
    const chunked = await exchange(gw.url, `${head('POST /public/b HTTP/1.1', 'Transfer-Encoding: chunked', 'Connection: close')}\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`);
    assert.deepEqual(chunked, [200]);
    const got = backend.received.slice(before);
    assert.deepEqual(got.map((r) => r.url), ['/public/a', '/public/b']);
    for (const r of got) assert.equal(r.body.toString('latin1'), smuggled);
  });

  test('pipelined requests are each judged: an open one then a protected one without a token', async () => {
    const before = backend.received.length;
    const statuses = await exchange(gw.url, `${head('GET /public/first HTTP/1.1')}\r\n\r\n${head('GET /api/secret HTTP/1.1', 'Connection: close')}\r\n\r\n`);
    assert.deepEqual(statuses, [200, 401]);
    assert.deepEqual(backend.received.slice(before).map((r) => r.url), ['/public/first']);
  });

  test('Upgrade with Connection: upgrade is refused, never tunnelled to the backend', async () => {
    const statuses = await untouched(() => exchange(gw.url, `${head('GET /public/ws HTTP/1.1', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')}\r\n\r\n`));
    assert.equal(statuses.length, 1);
    assert.notEqual(statuses[0], 101);
    assert.ok(statuses[0] >= 400, `refused, got ${statuses[0]}`);
  });
});
