/**
 * Odd but well-framed requests (free attack, part 5 of the brief) that the gateway already handles
 * safely; kept as regressions. What is *not* handled safely is in abuse-finding-*.test.ts.
 *
 * - request targets: absolute form naming another host, asterisk form, CONNECT, over-long queries;
 * - token spellings: RFC 6750 b64token and its near misses, in the header, the query and elsewhere;
 * - maxTokenBytes; HEAD judged as GET; Connection naming Authorization or Content-Length.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { errorOf, headerBytes, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type ReceivedRequest, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { hostOf } from './support.js';

const VALID = 'odd-valid-token-1';
const PLUS = 'a+b';
const PADDED = 'a/b==';
const LONGEST = 'L'.repeat(8_192);

describe('odd requests', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    const users = new Map<string, unknown>([VALID, PLUS, PADDED, LONGEST].map((t) => [t, { uid: `user-of-${t.slice(0, 8)}` }]));
    seed = await startSeedEndpoint({ users });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { v: { url: seed.validationUrl, timeoutMs: 1_000 } },
      routes: [
        { path: '/api', upstream: backend.url, identityHeaders: { 'X-User-Id': 'uid' } },
        { path: '/q', upstream: backend.url, tokenFrom: ['query'] },
        { path: '/nofwd', upstream: backend.url, forwardAuthorization: false },
        { path: '/get', methods: ['GET'], upstream: backend.url },
        { path: '/public', upstream: backend.url, auth: 'none' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  const host = () => `host: ${hostOf(gw.url)}`;
  let serial = 0;
  /** Sends one request for `route` + a unique suffix; returns the answer and what the backend got for it. */
  async function send(requestLine: (path: string) => string, ...headers: string[]): Promise<{ status: number; type: string | null; got: ReceivedRequest[]; calls: number }> {
    const path = `/r${++serial}`;
    const before = seed.totalCalls();
    const res = await rawRequest(gw.url, [requestLine(path), host(), ...headers].join('\r\n'));
    const type = res.body.startsWith('{"errors"') ? errorOf(res.body).type : null;
    return { status: res.status, type, got: backend.received.filter((r) => r.url.includes(path)), calls: seed.totalCalls() - before };
  }

  describe('request targets', () => {
    test('absolute form naming another host: routed by its path, judged, sent only to the route\'s upstream; the other host is never used', async () => {
      const r = await send((p) => `GET http://evil.example:9/api${p}?y=1 HTTP/1.1`, `authorization: Bearer ${VALID}`);
      assert.equal(r.status, 200);
      assert.equal(r.got.length, 1);
      assert.equal(r.got[0].url.startsWith('/api/'), true);
      assert.deepEqual(headerBytes(r.got[0].rawHeaders, 'host'), [Buffer.from(new URL(backend.url).host)]);
      assert.deepEqual(headerBytes(r.got[0].rawHeaders, 'x-forwarded-host'), [Buffer.from(hostOf(gw.url))]);
      assert.equal(JSON.stringify(r.got[0].rawHeaders).includes('evil.example'), false);
    });

    test('absolute form without a token on a protected route: 401, never forwarded', async () => {
      const r = await send((p) => `GET http://evil.example/api${p} HTTP/1.1`);
      assert.equal(r.status, 401);
      assert.deepEqual(r.got, []);
    });

    test('asterisk form (OPTIONS *): 400, never forwarded', async () => {
      const before = backend.received.length;
      const res = await rawRequest(gw.url, `OPTIONS * HTTP/1.1\r\n${host()}`);
      assert.equal(res.status, 400);
      assert.equal(backend.received.length, before);
    });

    test('CONNECT: the connection is closed, no tunnel, nothing forwarded', async () => {
      const before = backend.received.length;
      const { port } = new URL(gw.url);
      const text = await new Promise<string>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1');
        let out = '';
        const timer = setTimeout(() => socket.destroy(), 3_000);
        socket.on('data', (c: Buffer) => (out += c.toString('latin1')));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(out);
        });
        socket.write(`CONNECT ${new URL(backend.url).host} HTTP/1.1\r\nhost: ${new URL(backend.url).host}\r\n\r\nGET /public/tunnelled HTTP/1.1\r\nhost: x\r\n\r\n`);
      });
      assert.doesNotMatch(text, /^HTTP\/1\.1 200/);
      assert.equal(backend.received.length, before);
    });

    test('a query string beyond the header limit: 431, the validator is not asked', async () => {
      const r = await send((p) => `GET /api${p}?${'a'.repeat(20_000)} HTTP/1.1`, `authorization: Bearer ${VALID}-uncached`);
      assert.equal(r.status, 431);
      assert.equal(r.calls, 0);
      assert.deepEqual(r.got, []);
    });
  });

  describe('token spellings', () => {
    for (const [label, value] of [
      ['a tab after Bearer', `Bearer\t${VALID}`],
      ['two credentials in one header', `Bearer ${VALID}, Bearer other`],
      ['non-ASCII bytes', 'Bearer t\xc3\xb6k'],
      ['"=" inside the token', 'Bearer a=b'],
      ['a quoted token', `Bearer "${VALID}"`],
      ['percent-encoding in a header token', 'Bearer a%2Bb'],
      ['Bearer with nothing after it', 'Bearer'],
    ] as const) {
      test(`Authorization with ${label}: 400 InvalidRequestError, the validator is not asked`, async () => {
        const r = await send((p) => `GET /api${p} HTTP/1.1`, `authorization: ${value}`);
        assert.equal(r.status, 400);
        assert.equal(r.type, 'InvalidRequestError');
        assert.equal(r.calls, 0);
        assert.deepEqual(r.got, []);
      });
    }

    test('the scheme is case-insensitive and several spaces are allowed: "bEaReR  <token>" is the token', async () => {
      const r = await send((p) => `GET /api${p} HTTP/1.1`, `authorization: bEaReR  ${VALID}`);
      assert.equal(r.status, 200);
    });

    test('padding at the end is part of the token ("a/b==")', async () => {
      const r = await send((p) => `GET /api${p} HTTP/1.1`, `authorization: Bearer ${PADDED}`);
      assert.equal(r.status, 200);
      assert.equal(seed.calls.get(PADDED), 1);
    });

    test('query: "%2B" decodes to "+" (token a+b is valid); a raw "+" is a space (400); access%5Ftoken is access_token and is removed before forwarding', async () => {
      assert.equal((await send((p) => `GET /q${p}?access_token=a%2Bb HTTP/1.1`)).status, 200);
      assert.equal(seed.calls.get(PLUS), 1);
      const raw = await send((p) => `GET /q${p}?access_token=a+b HTTP/1.1`);
      assert.equal(raw.status, 400);
      assert.equal(raw.calls, 0);
      const encoded = await send((p) => `GET /q${p}?access%5Ftoken=${VALID}&z=1 HTTP/1.1`);
      assert.equal(encoded.status, 200);
      assert.equal(encoded.got[0].url.endsWith('?z=1'), true, `forwarded as ${encoded.got[0].url}`);
    });

    test('names that are not access_token carry no token: ACCESS_TOKEN, access_token[] in the query, access_token in a cookie: 401 MissingTokenError', async () => {
      for (const [line, header] of [
        [(p: string) => `GET /q${p}?ACCESS_TOKEN=${VALID} HTTP/1.1`, 'x-none: 1'],
        [(p: string) => `GET /q${p}?access_token[]=${VALID} HTTP/1.1`, 'x-none: 1'],
        [(p: string) => `GET /api${p} HTTP/1.1`, `cookie: access_token=${VALID}`],
      ] as const) {
        const r = await send(line, header);
        assert.equal(r.status, 401);
        assert.equal(r.type, 'MissingTokenError');
        assert.deepEqual(r.got, []);
      }
    });

    test(`maxTokenBytes (8192): a token of 8,193 bytes is a 400 without a call; one of exactly 8,192 is asked about`, async () => {
      const over = await send((p) => `GET /api${p} HTTP/1.1`, `authorization: Bearer ${LONGEST}M`);
      assert.equal(over.status, 400);
      assert.equal(over.type, 'InvalidRequestError');
      assert.equal(over.calls, 0);
      const edge = await send((p) => `GET /api${p} HTTP/1.1`, `authorization: Bearer ${LONGEST}`);
      assert.equal(edge.status, 200);
      assert.equal(seed.calls.get(LONGEST), 1);
      const query = await send((p) => `GET /q${p}?access_token=${LONGEST}Q HTTP/1.1`);
      assert.equal(query.status, 400, 'the same bound in the query');
      assert.equal(query.calls, 0);
    });
  });

  describe('methods and hop-by-hop headers', () => {
    test('HEAD on a GET-only route is judged as GET: 401 without a token; with one the backend gets the HEAD', async () => {
      const denied = await send((p) => `HEAD /get${p} HTTP/1.1`);
      assert.equal(denied.status, 401);
      assert.deepEqual(denied.got, []);
      const allowed = await send((p) => `HEAD /get${p} HTTP/1.1`, `authorization: Bearer ${VALID}`);
      assert.equal(allowed.status, 200);
      assert.deepEqual(allowed.got.map((r) => r.method), ['HEAD']);
      const post = await send((p) => `POST /get${p} HTTP/1.1`, `authorization: Bearer ${VALID}`);
      assert.equal(post.status, 405);
    });

    test('"Connection: authorization" on a forwardAuthorization: false route: the token is still removed, never forwarded', async () => {
      const r = await send((p) => `GET /nofwd${p} HTTP/1.1`, `authorization: Bearer ${VALID}`, 'connection: authorization');
      assert.equal(r.status, 200);
      assert.deepEqual(headerBytes(r.got[0].rawHeaders, 'authorization'), []);
      assert.equal(JSON.stringify(r.got[0].rawHeaders).includes(VALID), false);
    });

    test('"Connection: content-length" cannot unframe an allowed body: the backend gets it whole, with its length', async () => {
      const path = `/public/r${++serial}`;
      const res = await rawRequest(gw.url, `POST ${path} HTTP/1.1\r\n${host()}\r\ncontent-length: 11\r\nconnection: content-length, close`, 'hello world');
      assert.equal(res.status, 200);
      const [got] = backend.received.filter((r) => r.url === path);
      assert.equal(got.body.toString(), 'hello world');
      assert.deepEqual(headerBytes(got.rawHeaders, 'content-length'), [Buffer.from('11')]);
    });

    test('several X-Forwarded-For headers are joined and the socket address is appended once', async () => {
      const r = await send((p) => `GET /public${p} HTTP/1.1`, 'x-forwarded-for: 1.1.1.1', 'X-Forwarded-For: 2.2.2.2');
      assert.deepEqual(headerBytes(r.got[0].rawHeaders, 'x-forwarded-for'), [Buffer.from('1.1.1.1, 2.2.2.2, 127.0.0.1')]);
    });
  });
});
