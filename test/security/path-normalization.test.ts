/**
 * A path that one side reads as `/public/…` and the other as `/admin` would let an unauthenticated
 * call through a public route to a protected resource. `/public` (auth none) and `/admin` (auth
 * required) share one backend; every spelling that a backend may normalise into `/admin` is
 * refused with 400 and never forwarded. Sent over a raw socket: fetch would normalise them itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { errorOf, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { hostOf } from './support.js';

const GOOD = '8dbd30ed-2e19-42cf-9b86-aaaaaaaa';

const TRAVERSALS = [
  '/public/../admin',
  '/public/./../admin',
  '/public/%2e%2e/admin',
  '/public/%2E%2E/admin',
  '/public/.%2e/admin',
  '/public/%2e./admin',
  '/public%2F..%2Fadmin',
  '/public%2f..%2fadmin',
  '/public/..%2Fadmin',
  '/public/..%2fadmin',
  '//admin',
  '/public//../admin',
  '/public\\..\\admin',
  '/public/..\\admin',
  '/public/%5c..%5cadmin',
  '/public/%5C..%5Cadmin',
  '/public/..',
  '/public/.',
  '/public/./admin',
  '/admin%00',
  '/public/%00/../admin',
  '/public/../admin?x=1',
];

describe('paths that are not in normal form are refused before routing', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    seed = await startSeedEndpoint({ users: new Map([[GOOD, SEED_USER_INFO]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { main: { url: seed.validationUrl, timeoutMs: 200 } },
      routes: [
        { path: '/public', upstream: backend.url, auth: 'none' },
        { path: '/admin', upstream: backend.url },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  const get = (target: string, extra = '') => rawRequest(gw.url, `GET ${target} HTTP/1.1\r\nhost: ${hostOf(gw.url)}${extra}`);

  test('control: /public is open and reaches the backend; /admin needs a token', async () => {
    const open = await get('/public/page');
    assert.equal(open.status, 200);
    assert.equal(backend.received.length, 1);
    assert.equal(backend.received[0].url, '/public/page');

    const closed = await get('/admin');
    assert.equal(closed.status, 401);
    assert.equal(errorOf(closed.body).type, 'MissingTokenError');
    assert.deepEqual(closed.headers.get('www-authenticate'), ['Bearer realm="tokengate"']);
    assert.equal(backend.received.length, 1, '/admin without a token never reaches the backend');

    const withToken = await get('/admin/users', `\r\nauthorization: Bearer ${GOOD}`);
    assert.equal(withToken.status, 200);
    assert.equal(backend.received.length, 2);
  });

  for (const target of TRAVERSALS) {
    test(`${JSON.stringify(target)}: 400 InvalidRequestError, never forwarded`, async () => {
      const before = backend.received.length;
      const validatorCalls = seed.totalCalls();
      const res = await get(target);
      assert.equal(res.status, 400, res.body);
      assert.equal(errorOf(res.body).type, 'InvalidRequestError');
      assert.deepEqual(res.headers.get('content-type'), ['application/json']);
      assert.equal(backend.received.length, before, 'the backend is never called');
      assert.equal(seed.totalCalls(), validatorCalls);
    });
  }

  // Tomcat, Jetty and Spring strip ";params" from each segment before resolving dot segments, so a
  // Java backend serves "/public/..;/admin" as "/admin": the classic gateway bypass (nginx+Tomcat,
  // Shiro CVE-2020-1957, …). Judged as /public (auth none) here, it must not be forwarded.
  for (const target of ['/public/..;/admin', '/public/..;x=1/admin', '/public/.;/admin']) {
    test(`${JSON.stringify(target)} (dot segment with a path parameter): 400, never forwarded`, async () => {
      const before = backend.received.length;
      const res = await get(target);
      assert.equal(res.status, 400, `forwarded to the backend as ${JSON.stringify(backend.received.at(-1)?.url)}`);
      assert.equal(errorOf(res.body).type, 'InvalidRequestError');
      assert.equal(backend.received.length, before, 'the backend is never called');
    });
  }

  test(
    '"/public/..#/admin" (a raw "#" is not allowed in a request target, RFC 9112 section 3.2): 400',
    async () => {
      const before = backend.received.length;
      const res = await get('/public/..#/admin');
      assert.equal(res.status, 400);
      assert.equal(backend.received.length, before);
    },
  );

  test('the same spellings with a valid token are refused too (no route is judged on an ambiguous path)', async () => {
    const before = backend.received.length;
    for (const target of ['/public/../admin', '/admin/../public', '/admin/%2e%2e/public', '//admin']) {
      const res = await get(target, `\r\nauthorization: Bearer ${GOOD}`);
      assert.equal(res.status, 400, target);
    }
    assert.equal(backend.received.length, before);
  });

  test('absolute-form request target with a traversal: 400, never forwarded', async () => {
    const before = backend.received.length;
    const host = hostOf(gw.url);
    for (const target of [`http://${host}/public/../admin`, `http://${host}/public/%2e%2e/admin`, `http://${host}//admin`]) {
      const res = await get(target);
      assert.equal(res.status, 400, target);
    }
    assert.equal(backend.received.length, before);
  });

  test('a public prefix is matched on segment boundaries: /publicX is not /public', async () => {
    const res = await get('/publicadmin');
    assert.equal(res.status, 404);
    assert.equal(errorOf(res.body).type, 'NotFoundError');
  });

  test('what reaches the backend from /public is exactly the path that was judged (normalised: %41 is A)', async () => {
    const before = backend.received.length;
    const res = await get('/public/a/b.c/..d/%41%3b?q=/../admin');
    assert.equal(res.status, 200);
    assert.equal(backend.received.length, before + 1);
    assert.equal(backend.received.at(-1)!.url, '/public/a/b.c/..d/A%3B?q=/../admin');
  });
});
