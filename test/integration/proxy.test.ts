/**
 * SPEC section 5, what the backend gets: the request as sent, minus hop-by-hop headers, plus
 * X-Forwarded-*, bodies streamed both ways, tokens removed where the configuration says so.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { listen, urlOf } from '../../src/http/listen.js';
import { headerBytes, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';

const USER = { uid: 'u-1', email: 'jo@example.com' };

describe('SPEC section 5: what the backend gets', () => {
  let validator: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    validator = await startSeedEndpoint({ users: new Map([['tok', USER]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { seed: { url: validator.validationUrl } },
      routes: [
        { path: '/api', upstream: `${backend.url}/base/`, identityHeaders: { 'X-User-Id': 'uid' } },
        { path: '/q', upstream: backend.url, tokenFrom: ['header', 'query'] },
        { path: '/hidden', upstream: backend.url, tokenFrom: ['header', 'query', 'form'], forwardAuthorization: false },
        { path: '/form', upstream: backend.url, tokenFrom: ['form'], identityHeaders: { 'X-User-Id': 'uid' } },
        { path: '/maybe', upstream: backend.url, auth: 'optional', identityHeaders: { 'X-User-Email': 'email' } },
        { path: '/open', upstream: backend.url, auth: 'none' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([validator.close(), backend.close()]);
  });

  const last = () => backend.received.at(-1)!;

  test('X-Request-Id: a generated one reaches the backend and the client, and the log line carries it', async () => {
    const res = await fetch(`${gw.url}/open/x`);
    await res.arrayBuffer();
    const sent = headerBytes(last().rawHeaders, 'x-request-id').map(String);
    assert.equal(sent.length, 1);
    assert.equal(res.headers.get('x-request-id'), sent[0]);
    assert.equal(gw.logs.requests().at(-1)!.reqId, sent[0]);
  });

  test("X-Request-Id: the client's plain one is kept; an unsafe one (spaces, too long) is replaced, never forwarded", async () => {
    const kept = await fetch(`${gw.url}/open/x`, { headers: { 'x-request-id': 'abc-123.z' } });
    await kept.arrayBuffer();
    assert.deepEqual(headerBytes(last().rawHeaders, 'x-request-id').map(String), ['abc-123.z']);
    assert.equal(kept.headers.get('x-request-id'), 'abc-123.z');
    for (const unsafe of ['has space', 'x'.repeat(200), 'a"b']) {
      const res = await rawRequest(gw.url, `GET /open/x HTTP/1.1\r\nhost: x\r\nx-request-id: ${unsafe}`);
      assert.equal(res.status, 200);
      const sent = headerBytes(last().rawHeaders, 'x-request-id').map(String);
      assert.equal(sent.length, 1);
      assert.notEqual(sent[0], unsafe);
      assert.deepEqual(res.headers.get('x-request-id'), sent);
    }
  });

  test('X-Request-Id: a refusal carries it too', async () => {
    const res = await fetch(`${gw.url}/api/x`);
    assert.equal(res.status, 401);
    await res.arrayBuffer();
    assert.equal(res.headers.get('x-request-id'), gw.logs.requests().at(-1)!.reqId);
  });

  test('method, path (after the upstream base path), query and body arrive as sent', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 'abc');
    const res = await fetch(`${gw.url}/api/items/7?b=%20x&a=1`, { method: 'PUT', body, headers: { authorization: 'Bearer tok', 'content-type': 'application/octet-stream' } });
    assert.equal(res.status, 200);
    assert.equal(last().method, 'PUT');
    assert.equal(last().url, '/base/api/items/7?b=%20x&a=1');
    assert.ok(last().body.equals(body));
    assert.equal(last().headers['content-type'], 'application/octet-stream');
  });

  test('a chunked request body is streamed through', async () => {
    const res = await rawRequest(gw.url, 'POST /api/c HTTP/1.1\r\nhost: client.example\r\nauthorization: Bearer tok\r\ntransfer-encoding: chunked', '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    assert.equal(res.status, 200);
    assert.equal(last().body.toString(), 'hello world');
  });

  test('hop-by-hop headers and those named in Connection are removed; end-to-end ones kept', async () => {
    const res = await rawRequest(
      gw.url,
      'GET /api/h HTTP/1.1\r\nhost: client.example\r\nauthorization: Bearer tok\r\nkeep-alive: timeout=5\r\nte: trailers\r\nproxy-authorization: Basic eDp5\r\nconnection: x-private\r\nx-private: secret\r\nx-custom: kept\r\naccept: text/plain',
    );
    assert.equal(res.status, 200);
    const h = last().headers;
    for (const name of ['keep-alive', 'te', 'proxy-authorization', 'x-private']) assert.equal(h[name], undefined, name);
    assert.equal(h['x-custom'], 'kept');
    assert.equal(h.accept, 'text/plain');
  });

  test('X-Forwarded-For is appended to, X-Forwarded-Proto and -Host are set, Host is the upstream', async () => {
    await rawRequest(gw.url, 'GET /api/f HTTP/1.1\r\nhost: shop.example\r\nauthorization: Bearer tok\r\nx-forwarded-for: 203.0.113.9\r\nx-forwarded-proto: https\r\nx-forwarded-host: evil.example');
    const h = last().headers;
    assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'shop.example');
    assert.equal(h.host, new URL(backend.url).host);
    assert.deepEqual(headerBytes(last().rawHeaders, 'x-forwarded-for').length, 1);
  });

  test('the Authorization header is forwarded by default', async () => {
    await fetch(`${gw.url}/api/a`, { headers: { authorization: 'Bearer tok' } });
    assert.equal(last().headers.authorization, 'Bearer tok');
    assert.equal(last().headers['x-user-id'], 'u-1');
  });

  test('tokenFrom query: access_token is removed from the forwarded URL, other parameters kept byte for byte', async () => {
    const res = await fetch(`${gw.url}/q/x?a=%41+b&access_token=tok&z=1`);
    assert.equal(res.status, 200);
    assert.equal(last().url, '/q/x?a=%41+b&z=1');
  });

  test('forwardAuthorization false removes the token from the header', async () => {
    await fetch(`${gw.url}/hidden`, { headers: { authorization: 'Bearer tok' } });
    assert.equal(last().headers.authorization, undefined);
  });

  test('forwardAuthorization false removes the token from a form body, keeping the rest', async () => {
    const res = await fetch(`${gw.url}/hidden`, { method: 'POST', body: 'a=1&access_token=tok&b=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 200);
    assert.equal(last().body.toString(), 'a=1&b=2');
    assert.equal(last().headers['content-length'], '7');
  });

  test('a form token (RFC 6750 section 2.2) is accepted and the body forwarded intact', async () => {
    const res = await fetch(`${gw.url}/form`, { method: 'POST', body: 'access_token=tok&item=%C3%B6', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } });
    assert.equal(res.status, 200);
    assert.equal(last().body.toString(), 'access_token=tok&item=%C3%B6');
    assert.equal(last().headers['x-user-id'], 'u-1');
  });

  test('a form token is not looked for in a GET (RFC 6750 section 2.2)', async () => {
    const res = await fetch(`${gw.url}/form?x=1`);
    assert.equal(res.status, 401);
  });

  test('a form body over 1 MiB on a form-token route is refused with 413', async () => {
    const body = `access_token=tok&pad=${'x'.repeat(1024 * 1024)}`;
    const res = await fetch(`${gw.url}/form`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 413);
  });

  test('auth optional: no token passes without identity; a valid token adds it; a bad one is refused', async () => {
    assert.equal((await fetch(`${gw.url}/maybe`)).status, 200);
    assert.equal(last().headers['x-user-email'], undefined);
    assert.equal((await fetch(`${gw.url}/maybe`, { headers: { authorization: 'Bearer tok' } })).status, 200);
    assert.equal(last().headers['x-user-email'], 'jo@example.com');
    assert.equal((await fetch(`${gw.url}/maybe`, { headers: { authorization: 'Bearer bad' } })).status, 401);
  });

  test('auth none: passes without asking any validator', async () => {
    const calls = validator.totalCalls();
    const res = await fetch(`${gw.url}/open/x`, { headers: { authorization: 'Bearer whatever' } });
    assert.equal(res.status, 200);
    assert.equal(validator.totalCalls(), calls);
    assert.equal(last().headers.authorization, 'Bearer whatever');
  });

  test('the backend answer comes back with its status, headers (repeated ones too) and streamed body; hop-by-hop removed', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'z');
    const server: Server = createServer((req, res) => {
      req.resume();
      res.writeHead(201, [
        'set-cookie', 'a=1', 'set-cookie', 'b=2', 'x-upstream', 'yes', 'connection', 'x-hop', 'x-hop', 'drop me', 'keep-alive', 'timeout=1',
      ]);
      res.end(big);
    });
    await listen(server, 0, '127.0.0.1');
    const local = await startTestGateway({ routes: [{ path: '/', upstream: urlOf(server), auth: 'none' }] });
    try {
      const res = await rawRequest(local.url, 'GET /x HTTP/1.1\r\nhost: a');
      assert.equal(res.status, 201);
      assert.deepEqual(res.headers.get('set-cookie'), ['a=1', 'b=2']);
      assert.deepEqual(res.headers.get('x-upstream'), ['yes']);
      assert.equal(res.headers.get('x-hop'), undefined);
      assert.equal(res.body.length, big.length);
    } finally {
      await local.close();
      server.closeAllConnections();
      server.close();
    }
  });
});
