/**
 * SPEC 7.1, forward-auth, end to end: a real tokengate decision endpoint behind real nginx
 * (`auth_request` + `auth_request_set`) and real Caddy (`forward_auth`), in front of a backend
 * that records what reaches it; and the Traefik and Envoy conventions as the direct calls those
 * peers make. Allowed calls reach the backend with the identity headers (UTF-8 intact); denied
 * ones never do, and the client gets exactly the section 4 answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { caddyForwardAuthConfig, skipWithoutCaddy, startCaddy, type CaddyServer } from '../fixtures/caddy.js';
import { errorOf, headerBytes, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { nginxAuthRequestConfig, skipWithoutNginx, startNginx, type NginxServer } from '../fixtures/nginx.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';

const DECISION = '/_tokengate/auth';
const GOOD = 'fa-good-token-1';
const READER = 'fa-reader-token';
const USER = { uid: 'u-1', lastName: 'öhlundi', scope: 'orders:read orders:write', exp: Math.floor(Date.now() / 1000) + 3600 };
const IDENTITY = ['X-User-Id', 'X-User-Last-Name'];

describe('forward-auth: the decision endpoint', () => {
  let validator: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    validator = await startSeedEndpoint({ users: new Map<string, unknown>([[GOOD, USER], [READER, { uid: 'r', scope: 'orders:read', exp: USER.exp }]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, trustedProxies: ['127.0.0.1/32'] },
      forwardAuth: { path: DECISION },
      validators: { seed: { url: validator.validationUrl } },
      routes: [
        // Decision-only routes: no upstream.
        { path: '/orders', methods: ['GET'], requiredScopes: ['orders:read'], identityHeaders: { 'X-User-Id': 'uid', 'X-User-Last-Name': 'lastName' } },
        { path: '/orders', methods: ['DELETE'], requiredScopes: ['orders:delete'], identityHeaders: { 'X-User-Id': 'uid' } },
        { path: '/public', auth: 'none' },
        // A proxied route that would catch the decision path, were it ever proxied.
        { path: '/_tokengate', upstream: backend.url, auth: 'none' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([validator.close(), backend.close()]);
  });

  const ask = (headers: string, target = DECISION, method = 'GET') => rawRequest(gw.url, `${method} ${target} HTTP/1.1\r\nhost: tokengate${headers === '' ? '' : `\r\n${headers}`}`);

  describe('conventions', () => {
    const cases = [
      ['nginx auth_request', (uri: string, method: string) => ask(`X-Original-URI: ${uri}\r\nX-Original-Method: ${method}\r\nauthorization: Bearer ${GOOD}`)],
      ['Traefik forwardAuth / Caddy forward_auth', (uri: string, method: string) => ask(`X-Forwarded-Uri: ${uri}\r\nX-Forwarded-Method: ${method}\r\nX-Forwarded-Host: api.example\r\nauthorization: Bearer ${GOOD}`)],
      ['Envoy ext_authz (path appended, original method)', (uri: string, method: string) => ask(`authorization: Bearer ${GOOD}`, `${DECISION}${uri}`, method)],
    ] as const;
    for (const [name, send] of cases) {
      test(`${name}: allowed is 200, no body, the identity headers as response headers (UTF-8 bytes)`, async () => {
        const res = await send('/orders/7?x=1', 'GET');
        assert.equal(res.status, 200, res.body);
        assert.equal(res.body, '');
        assert.deepEqual(res.headers.get('x-user-id'), ['u-1']);
        assert.equal(Buffer.from(res.headers.get('x-user-last-name')![0], 'latin1').toString('utf8'), 'öhlundi');
      });
      test(`${name}: the original method picks the route: DELETE needs orders:delete (403, exact challenge)`, async () => {
        const res = await send('/orders/7', 'DELETE');
        assert.equal(res.status, 403);
        assert.equal(errorOf(res.body).type, 'InsufficientScopeError');
        assert.deepEqual(res.headers.get('www-authenticate'), ['Bearer realm="tokengate", error="insufficient_scope", scope="orders:delete"']);
      });
      test(`${name}: a method the route does not allow is 405 with Allow`, async () => {
        const res = await send('/orders/7', 'PUT');
        assert.equal(res.status, 405);
        assert.deepEqual(res.headers.get('allow'), ['DELETE, GET, HEAD']);
      });
      test(`${name}: an original URI that matches no route is 404, never 200`, async () => {
        assert.equal((await send('/nowhere', 'GET')).status, 404);
      });
    }
  });

  test('no token: 401 MissingTokenError with the RFC 6750 challenge', async () => {
    const res = await ask('X-Original-URI: /orders/1\r\nX-Original-Method: GET');
    assert.equal(res.status, 401);
    assert.equal(errorOf(res.body).type, 'MissingTokenError');
    assert.deepEqual(res.headers.get('www-authenticate'), ['Bearer realm="tokengate"']);
  });

  test('a bad token: 401 InvalidTokenError; auth none on the original route: 200 without identity', async () => {
    const bad = await ask('X-Original-URI: /orders/1\r\nauthorization: Bearer nope');
    assert.equal(bad.status, 401);
    assert.equal(errorOf(bad.body).type, 'InvalidTokenError');
    const open = await ask('X-Original-URI: /public/page');
    assert.equal(open.status, 200);
    assert.equal(open.headers.get('x-user-id'), undefined);
  });

  test('no original URI at all: 404', async () => {
    assert.equal((await ask(`authorization: Bearer ${GOOD}`)).status, 404);
  });

  test('conventions that disagree, or a naming header sent twice, are a 400: the decision must be about the request served', async () => {
    for (const headers of [
      'X-Original-URI: /public/x\r\nX-Forwarded-Uri: /orders/7',
      'X-Original-URI: /orders/7\r\nX-Original-URI: /public/x',
      'X-Forwarded-Uri: /orders/7\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Method: DELETE',
    ]) {
      const res = await ask(`${headers}\r\nauthorization: Bearer ${GOOD}`);
      assert.equal(res.status, 400, headers);
      assert.equal(errorOf(res.body).type, 'InvalidRequestError');
    }
    const envoyAndHeader = await ask(`X-Original-URI: /public/x\r\nauthorization: Bearer ${GOOD}`, `${DECISION}/orders/7`);
    assert.equal(envoyAndHeader.status, 400);
  });

  test('an original URI in another spelling is judged on its normal form; an ambiguous one is refused', async () => {
    const encoded = await ask(`X-Original-URI: /%6Frders/7\r\nauthorization: Bearer ${READER}`);
    assert.equal(encoded.status, 200);
    assert.equal((await ask(`X-Original-URI: /ORDERS/7\r\nauthorization: Bearer ${READER}`)).status, 400);
    assert.equal((await ask(`X-Original-URI: /public/../orders/7\r\nauthorization: Bearer ${READER}`)).status, 400);
  });

  test('a method override the route does not honour is refused (the backend would get it from the calling gateway)', async () => {
    const res = await ask(`X-Original-URI: /orders/7\r\nX-Original-Method: GET\r\nX-HTTP-Method-Override: DELETE\r\nauthorization: Bearer ${READER}`);
    assert.equal(res.status, 400);
  });

  test("identity headers the client sent on the question are never echoed back as the gateway's", async () => {
    const res = await ask(`X-Original-URI: /public/x\r\nX-User-Id: forged\r\nX-User-Last-Name: forged`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-user-id'), undefined);
    assert.equal(res.headers.get('x-user-last-name'), undefined);
  });

  test('the decision path is never proxied, in any spelling; the access line names the face', async () => {
    const before = backend.received.length;
    for (const target of [DECISION, `${DECISION}/`, '/_tokengate/%61uth', `${DECISION}?x=1`]) await ask(`X-Original-URI: /public/x`, target);
    assert.equal(backend.received.length, before);
    const line = gw.logs.requests().at(-1)!;
    assert.equal(line.face, 'forward-auth');
    assert.equal(line.path, '/public/x');
  });

  test('cached like every decision: one validator call for many questions about one token', async () => {
    const token = 'fa-cached-token';
    const questions = await Promise.all(Array.from({ length: 10 }, () => ask(`X-Original-URI: /orders/1\r\nauthorization: Bearer ${token}`)));
    for (const res of questions) assert.equal(res.status, 401);
    assert.equal(validator.calls.get(token), 1);
  });
});

describe('forward-auth behind real nginx and Caddy', () => {
  let validator: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  let nginx: NginxServer | null = null;
  let caddy: CaddyServer | null = null;
  const nginxSkip = skipWithoutNginx();
  const caddySkip = skipWithoutCaddy();

  before(async () => {
    validator = await startSeedEndpoint({ users: new Map<string, unknown>([[GOOD, USER], [READER, { uid: 'r', scope: 'orders:read', exp: USER.exp }]]), script: (token) => (token === 'down-token' ? { status: 503, body: 'down' } : undefined) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, trustedProxies: ['127.0.0.1/32'] },
      forwardAuth: { path: DECISION },
      validators: { seed: { url: validator.validationUrl, circuitBreaker: { failures: 0 } } },
      routes: [
        { path: '/orders', requiredScopes: ['orders:read'], identityHeaders: { 'X-User-Id': 'uid', 'X-User-Last-Name': 'lastName' } },
        { path: '/admin', requiredScopes: ['admin'] },
      ],
    });
    const options = { decision: gw.url, decisionPath: DECISION, backendUrl: backend.url, identityHeaders: IDENTITY };
    if (nginxSkip === false) nginx = await startNginx(({ listen }) => nginxAuthRequestConfig({ ...options, listen }));
    if (caddySkip === false) caddy = await startCaddy(({ listen }) => caddyForwardAuthConfig({ ...options, listen }));
  });
  after(async () => {
    await Promise.all([nginx?.close(), caddy?.close()]);
    await gw.close();
    await Promise.all([validator.close(), backend.close()]);
  });

  const peers = [
    ['nginx auth_request', () => nginx, nginxSkip],
    ['Caddy forward_auth', () => caddy, caddySkip],
  ] as const;

  for (const [name, peer, skip] of peers) {
    describe(name, { skip }, () => {
      const via = (path: string, headers = '') => rawRequest(peer()!.url, `GET ${path} HTTP/1.1\r\nhost: api.example${headers === '' ? '' : `\r\n${headers}`}`);

      test('allowed: the backend gets the call with the identity headers, UTF-8 intact, and no forged copy', async () => {
        const before = backend.received.length;
        const res = await via('/orders/7?x=1', `authorization: Bearer ${GOOD}\r\nX-User-Id: forged\r\nX-User-Last-Name: forged`);
        assert.equal(res.status, 200, res.body);
        assert.equal(backend.received.length, before + 1);
        const got = backend.received.at(-1)!;
        assert.equal(got.url, '/orders/7?x=1');
        assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id').map(String), ['u-1']);
        assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-last-name').map((b) => b.toString('utf8')), ['öhlundi']);
      });

      test('an identity value missing from the answer does not reach the backend at all (nor a forged copy)', async () => {
        const res = await via('/orders/8', `authorization: Bearer ${READER}\r\nX-User-Last-Name: forged`);
        assert.equal(res.status, 200, res.body);
        const got = backend.received.at(-1)!;
        assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-last-name'), []);
        assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id').map(String), ['r']);
      });

      for (const [what, path, headers, status, type] of [
        ['no token', '/orders/1', '', 401, 'MissingTokenError'],
        ['a bad token', '/orders/1', 'authorization: Bearer nope', 401, 'InvalidTokenError'],
        ['a missing scope', '/admin/x', `authorization: Bearer ${GOOD}`, 403, 'InsufficientScopeError'],
        ['a malformed header', '/orders/1', 'authorization: Bearer a b', 400, 'InvalidRequestError'],
        ['no route', '/nowhere', `authorization: Bearer ${GOOD}`, 404, 'NotFoundError'],
        ['the validator down', '/orders/1', 'authorization: Bearer down-token', 503, 'ValidationUnavailableError'],
      ] as const) {
        test(`denied (${what}): ${status} ${type}, exactly the gateway's answer, and the backend never sees it`, async () => {
          const before = backend.received.length;
          const res = await via(path, headers);
          const direct = await rawRequest(gw.url, `GET ${DECISION} HTTP/1.1\r\nhost: x\r\nX-Original-URI: ${path}${headers === '' ? '' : `\r\n${headers}`}`);
          assert.equal(res.status, status, res.body);
          assert.equal(errorOf(res.body).type, type);
          assert.equal(res.body, direct.body);
          assert.deepEqual(res.headers.get('www-authenticate'), direct.headers.get('www-authenticate'));
          assert.deepEqual(res.headers.get('retry-after'), direct.headers.get('retry-after'));
          assert.equal(res.headers.get('content-type')?.[0], 'application/json');
          assert.equal(backend.received.length, before);
        });
      }
    });
  }
});
