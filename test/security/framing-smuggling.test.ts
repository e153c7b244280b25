/**
 * Message framing on raw sockets (RFC 9112 sections 2.2, 5, 6 and 7; SPEC section 8): every request
 * whose length or header block two parsers could read differently is a 400, and the backend never
 * sees two requests where the client sent one, nor a request the gateway did not authorize.
 *
 * Each malformed request is sent as an *allowed* outer request (to an open route, or with a valid,
 * already cached token, so the gateway decides at once) that hides an unauthorized inner request
 * (no token, protected route). Had any of them been accepted, the backend would show the outer one,
 * and a desync the inner one.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { headerBytes, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { hostOf } from './support.js';

const VALID = 'framing-valid-token-0123456789';

/** Writes `bytes` on one connection, half-closes after `waitMs`; every status line answered, and the raw text. */
function exchange(url: string, bytes: string | Buffer, waitMs = 300): Promise<{ statuses: number[]; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ statuses: [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1])), text });
    });
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    setTimeout(() => socket.end(), waitMs);
  });
}

describe('framing and smuggling', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    seed = await startSeedEndpoint({ users: new Map([[VALID, { uid: 'framing-user' }]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { v: { url: seed.validationUrl, timeoutMs: 1_000 } },
      routes: [
        { path: '/api', upstream: backend.url, identityHeaders: { 'X-User-Id': 'uid' } },
        { path: '/public', upstream: backend.url, auth: 'none' },
      ],
    });
    // The valid token is cached: an allowed request is decided (and forwarded) synchronously.
    const warm = await rawRequest(gw.url, `GET /api/warm HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\nauthorization: Bearer ${VALID}`);
    assert.equal(warm.status, 200);
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  const host = () => `host: ${hostOf(gw.url)}`;
  const auth = `authorization: Bearer ${VALID}`;
  /** An unauthorized request (protected route, no token) hidden after the outer one. */
  const inner = (tag: string) => `GET /api/smuggled-${tag} HTTP/1.1\r\n${host()}\r\n\r\n`;
  const reachedWith = (tag: string) => backend.received.filter((r) => r.url.includes(tag));

  /** Sends `bytes`; asserts exactly one 400 and that nothing tagged `tag` reached the backend or the validator. */
  async function refused(tag: string, bytes: string): Promise<void> {
    const callsBefore = seed.totalCalls();
    const { statuses } = await exchange(gw.url, bytes);
    assert.deepEqual(statuses, [400], `answers: ${JSON.stringify(statuses)}`);
    assert.deepEqual(reachedWith(tag).map((r) => r.url), [], 'the backend saw nothing of it');
    assert.equal(seed.totalCalls(), callsBefore, 'the validator was not asked');
  }

  const cases: readonly (readonly [string, (tag: string) => string])[] = [
    ['Content-Length then Transfer-Encoding', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n${inner(t)}`],
    ['Transfer-Encoding then Content-Length', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked\r\ncontent-length: 40\r\n\r\n0\r\n\r\n${inner(t)}`],
    ['CL+TE with a valid token on a protected route', (t) => `POST /api/${t} HTTP/1.1\r\n${host()}\r\n${auth}\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n${inner(t)}`],
    ['two equal Content-Length headers', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ncontent-length: 5\r\ncontent-length: 5\r\n\r\nhello${inner(t)}`],
    ['two conflicting Content-Length headers', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ncontent-length: 5\r\ncontent-length: ${5 + inner(t).length}\r\n\r\nhello${inner(t)}`],
    ['a Content-Length list "5, 5"', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ncontent-length: 5, 5\r\n\r\nhello${inner(t)}`],
    ['a signed Content-Length "+5"', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ncontent-length: +5\r\n\r\nhello${inner(t)}`],
    ['a Content-Length with trailing garbage "5x"', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ncontent-length: 5x\r\n\r\nhello${inner(t)}`],
    ['a Content-Length beyond 2^64', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ncontent-length: 99999999999999999999\r\n\r\nhello${inner(t)}`],
    ['obs-fold in an ordinary header', (t) => `GET /public/${t} HTTP/1.1\r\n${host()}\r\nx-folded: a\r\n b\r\n\r\n${inner(t)}`],
    ['obs-fold continuing Transfer-Encoding', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ncontent-length: 5\r\ntransfer-encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n${inner(t)}`],
    ['a bare CR inside a header value', (t) => `GET /public/${t} HTTP/1.1\r\n${host()}\r\nx-a: 1\rcontent-length: 40\r\n\r\n${inner(t)}`],
    ['a bare CR ending a header line', (t) => `GET /public/${t} HTTP/1.1\r\n${host()}\rx-b: 2\r\n\r\n${inner(t)}`],
    ['bare LF line endings throughout', (t) => `GET /public/${t} HTTP/1.1\n${host()}\n\n${inner(t)}`],
    ['one header line ended by a bare LF', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\nx-c: 3\ncontent-length: 40\r\n\r\n${inner(t)}`],
    ['a space before the colon (Content-Length)', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ncontent-length : ${inner(t).length}\r\n\r\n${inner(t)}`],
    ['a space before the colon (Transfer-Encoding)', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ncontent-length: 5\r\ntransfer-encoding : chunked\r\n\r\n0\r\n\r\n${inner(t)}`],
    ['a tab before the colon', (t) => `GET /public/${t} HTTP/1.1\r\n${host()}\r\nx-d\t: 4\r\n\r\n${inner(t)}`],
    ['a NUL in a header value', (t) => `GET /public/${t} HTTP/1.1\r\n${host()}\r\nx-e: a\x00b\r\n\r\n${inner(t)}`],
    ['a NUL in a header name', (t) => `GET /public/${t} HTTP/1.1\r\n${host()}\r\nx-\x00f: 1\r\n\r\n${inner(t)}`],
    ['an invalid chunk size "zz"', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n${inner(t)}`],
    ['an invalid chunk size with a valid token (decided at once)', (t) => `POST /api/${t} HTTP/1.1\r\n${host()}\r\n${auth}\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n${inner(t)}`],
    ['a negative chunk size', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked\r\n\r\n-1\r\n${inner(t)}`],
    ['a chunk size in 0x notation', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n${inner(t)}`],
    ['a chunk size beyond 2^64', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked\r\n\r\nfffffffffffffffffff\r\nhello\r\n0\r\n\r\n${inner(t)}`],
    ['chunk data longer than its size (no CRLF after it)', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n${inner(t)}`],
    ['a chunk line ended by a bare LF', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n${inner(t)}`],
    ['a bare LF inside a chunk extension', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n${inner(t)}`],
    ['Transfer-Encoding "chunked, identity"', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked, identity\r\n\r\n0\r\n\r\n${inner(t)}`],
    ['Transfer-Encoding "chunked, chunked"', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked, chunked\r\n\r\n0\r\n\r\n${inner(t)}`],
    ['two Transfer-Encoding headers', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n${inner(t)}`],
    ['Transfer-Encoding "xchunked"', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: xchunked\r\n\r\n0\r\n\r\n${inner(t)}`],
    ['Transfer-Encoding "identity" alone', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding: identity\r\n\r\n0\r\n\r\n${inner(t)}`],
    ['Transfer-Encoding after a vertical tab', (t) => `POST /public/${t} HTTP/1.1\r\n${host()}\r\ntransfer-encoding:\x0bchunked\r\n\r\n0\r\n\r\n${inner(t)}`],
    ['a control character in a header value (accepted only by insecureHTTPParser)', (t) => `GET /public/${t} HTTP/1.1\r\n${host()}\r\nx-g: a\x01b\r\n\r\n${inner(t)}`],
    ['DEL in a header value', (t) => `GET /public/${t} HTTP/1.1\r\n${host()}\r\nx-h: a\x7fb\r\n\r\n${inner(t)}`],
    ['a tab inside the request target', (t) => `GET /public/${t}\tx HTTP/1.1\r\n${host()}\r\n\r\n${inner(t)}`],
    ['HTTP/1.2', (t) => `GET /public/${t} HTTP/1.2\r\n${host()}\r\n\r\n${inner(t)}`],
    ['no Host header', (t) => `GET /public/${t} HTTP/1.1\r\n\r\n${inner(t)}`],
  ];

  let n = 0;
  for (const [label, build] of cases) {
    const tag = `case${++n}x`;
    test(`${label}: 400, nothing forwarded`, () => refused(tag, build(tag)));
  }

  test('Node\'s insecureHTTPParser stays off: a request that only the lenient parser accepts is refused by the gateway', async () => {
    // Control: a plain node:http server with insecureHTTPParser accepts exactly these bytes.
    const lenient = createServer({ insecureHTTPParser: true }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => lenient.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(lenient.address() as { port: number }).port}`;
      const bytes = (h: string) => `GET /public/lenient HTTP/1.1\r\n${h}\r\nx-g: a\x01b\r\nconnection: close\r\n\r\n`;
      assert.deepEqual((await exchange(url, bytes('host: x'))).statuses, [200], 'the lenient parser accepts it');
      assert.deepEqual((await exchange(gw.url, bytes(host()))).statuses, [400], 'the gateway does not');
      assert.equal(reachedWith('/public/lenient').length, 0);
    } finally {
      lenient.closeAllConnections();
      lenient.close();
    }
    assert.equal(process.execArgv.includes('--insecure-http-parser'), false);
    assert.equal(/--insecure-http-parser/.test(process.env.NODE_OPTIONS ?? ''), false);
  });

  describe('well-formed pipelines', () => {
    test('first denied (no token), second open: [401, 200]; the backend sees only the second', async () => {
      const { statuses } = await exchange(gw.url, `GET /api/pipe1a HTTP/1.1\r\n${host()}\r\n\r\nGET /public/pipe1b HTTP/1.1\r\n${host()}\r\nconnection: close\r\n\r\n`);
      assert.deepEqual(statuses, [401, 200]);
      assert.deepEqual(reachedWith('pipe1').map((r) => r.url), ['/public/pipe1b']);
    });

    test('first denied (no token), second with a valid token: [401, 200]; the second arrives with its identity', async () => {
      const { statuses } = await exchange(gw.url, `GET /api/pipe2a HTTP/1.1\r\n${host()}\r\n\r\nGET /api/pipe2b HTTP/1.1\r\n${host()}\r\n${auth}\r\nconnection: close\r\n\r\n`);
      assert.deepEqual(statuses, [401, 200]);
      const got = reachedWith('pipe2');
      assert.deepEqual(got.map((r) => r.url), ['/api/pipe2b']);
      assert.deepEqual(headerBytes(got[0].rawHeaders, 'x-user-id'), [Buffer.from('framing-user')]);
    });

    test('a denied POST (no token) whose body holds an authorized-looking request: 401 with Connection: close, and the body never becomes a request', async () => {
      const hidden = `GET /api/pipe3-hidden HTTP/1.1\r\n${host()}\r\n${auth}\r\n\r\n`;
      const { statuses, text } = await exchange(gw.url, `POST /api/pipe3 HTTP/1.1\r\n${host()}\r\ncontent-length: ${hidden.length}\r\n\r\n${hidden}`);
      assert.deepEqual(statuses, [401]);
      assert.match(text, /\r\nconnection: close\r\n/i);
      assert.deepEqual(reachedWith('pipe3').map((r) => r.url), [], 'the hidden request never reaches the backend');
      // (A request pipelined *after* that body is still executed: see abuse-finding-pipeline-after-close.test.ts.)
    });

    test('a POST denied after a validator call (body already read) keeps the connection: the next request is served, the body is never one', async () => {
      const hidden = `GET /api/pipe4-hidden HTTP/1.1\r\n${host()}\r\n${auth}\r\n\r\n`;
      const { statuses } = await exchange(
        gw.url,
        `POST /api/pipe4 HTTP/1.1\r\n${host()}\r\nauthorization: Bearer framing-invalid-token\r\ncontent-length: ${hidden.length}\r\n\r\n${hidden}GET /public/pipe4-after HTTP/1.1\r\n${host()}\r\nconnection: close\r\n\r\n`,
        600,
      );
      assert.equal(statuses[0], 401);
      assert.ok(statuses.length <= 2 && (statuses.length === 1 || statuses[1] === 200), `answers: ${JSON.stringify(statuses)}`);
      assert.deepEqual(reachedWith('pipe4-hidden'), [], 'the body was never read as a request');
      assert.ok(reachedWith('pipe4-after').length === statuses.length - 1);
    });

    test('an allowed chunked POST whose chunk data holds a request, then a real one: [200, 200]; the backend sees the two the client sent, the first with its body intact', async () => {
      const hidden = `GET /api/pipe5-hidden HTTP/1.1\r\n${host()}\r\n${auth}\r\n\r\n`;
      const { statuses } = await exchange(
        gw.url,
        `POST /public/pipe5a HTTP/1.1\r\n${host()}\r\ntransfer-encoding: chunked\r\n\r\n${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\nGET /public/pipe5b HTTP/1.1\r\n${host()}\r\nconnection: close\r\n\r\n`,
      );
      assert.deepEqual(statuses, [200, 200]);
      const got = reachedWith('pipe5');
      assert.deepEqual(got.map((r) => r.url), ['/public/pipe5a', '/public/pipe5b']);
      assert.equal(got[0].body.toString('latin1'), hidden);
    });

    test('HEAD answers carry no body: a denied HEAD then a GET parse as exactly two responses', async () => {
      const { statuses, text } = await exchange(gw.url, `HEAD /api/pipe6a HTTP/1.1\r\n${host()}\r\n\r\nGET /public/pipe6b HTTP/1.1\r\n${host()}\r\nconnection: close\r\n\r\n`);
      assert.deepEqual(statuses, [401, 200]);
      const second = text.indexOf('HTTP/1.1 200 ');
      assert.equal(text.indexOf('\r\n\r\n') + 4, second, 'the 401 to HEAD ends with its header block');
      assert.deepEqual(reachedWith('pipe6').map((r) => r.url), ['/public/pipe6b']);
    });

    test('an allowed HEAD then a GET: [200, 200], the backend\'s HEAD answer relayed without a body', async () => {
      const { statuses, text } = await exchange(gw.url, `HEAD /public/pipe7a HTTP/1.1\r\n${host()}\r\n\r\nGET /public/pipe7b HTTP/1.1\r\n${host()}\r\nconnection: close\r\n\r\n`);
      assert.deepEqual(statuses, [200, 200]);
      assert.equal(text.indexOf('\r\n\r\n') + 4, text.indexOf('HTTP/1.1 200 ', 1));
      assert.deepEqual(reachedWith('pipe7').map((r) => `${r.method} ${r.url}`), ['HEAD /public/pipe7a', 'GET /public/pipe7b']);
    });

    test('a trailer field never reaches the backend: a forged X-User-Id in the trailers leaves only the validator\'s value', async () => {
      const { statuses } = await exchange(
        gw.url,
        `POST /api/pipe8 HTTP/1.1\r\n${host()}\r\n${auth}\r\ntransfer-encoding: chunked\r\ntrailer: x-user-id\r\nconnection: close\r\n\r\n5\r\nhello\r\n0\r\nx-user-id: admin\r\nauthorization: Bearer forged\r\n\r\n`,
      );
      assert.deepEqual(statuses, [200]);
      const [got] = reachedWith('pipe8');
      assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from('framing-user')]);
      assert.deepEqual(headerBytes(got.rawHeaders, 'authorization'), [Buffer.from(`Bearer ${VALID}`)]);
      assert.equal(got.body.toString(), 'hello');
    });

    test('Expect: 100-continue on a denied request: 401 and the connection ends, nothing forwarded', async () => {
      const { statuses, text } = await exchange(gw.url, `POST /api/pipe9 HTTP/1.1\r\n${host()}\r\nexpect: 100-continue\r\ncontent-length: 10\r\n\r\n`, 300);
      assert.equal(statuses.at(-1), 401, `answers: ${JSON.stringify(statuses)}`);
      assert.ok(statuses.every((s) => s === 100 || s === 401));
      assert.match(text, /\r\nconnection: close\r\n/i);
      assert.deepEqual(reachedWith('pipe9'), []);
    });
  });
});
