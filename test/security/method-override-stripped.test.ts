/**
 * Regression for "Keep the door shut" finding 6: `X-HTTP-Method-Override`, `X-Method-Override` and
 * `?_method=` let a GET act as a DELETE at frameworks that honour them, past a route whose DELETE
 * needs more scopes. They are removed by default; a route that opts in (`methodOverride: true`) is
 * routed, and judged, by the overriding method.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { errorOf, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';

const READER = 'reader-token-1';

describe('method overrides cannot change the method a policy was chosen for (regression: finding 6)', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    seed = await startSeedEndpoint({ users: new Map([[READER, { uid: 'r', scope: 'orders:read' }]]) });
    backend = await startSampleBackend();
    const routes = (path: string, methodOverride: boolean) => [
      { path, methods: ['GET'], upstream: backend.url, requiredScopes: ['orders:read'], methodOverride },
      { path, methods: ['DELETE', 'POST'], upstream: backend.url, requiredScopes: ['orders:delete'], methodOverride },
    ];
    gw = await startTestGateway({ validators: { v: { url: seed.validationUrl } }, routes: [...routes('/orders', false), ...routes('/legacy', true)] });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  const send = (head: string) => rawRequest(gw.url, `${head}\r\nhost: x\r\nauthorization: Bearer ${READER}`);
  const OVERRIDES = ['X-HTTP-Method-Override: DELETE', 'X-Method-Override: DELETE', 'X-HTTP-Method: DELETE', 'x-http-method-override: delete'];

  for (const override of OVERRIDES) {
    test(`default: "${override}" is removed before the backend`, async () => {
      const res = await send(`GET /orders/7 HTTP/1.1\r\n${override}`);
      assert.equal(res.status, 200);
      const raw = backend.received.at(-1)!.rawHeaders;
      assert.deepEqual(raw.filter((_, i) => i % 2 === 0 && /method/i.test(raw[i])), []);
    });
  }

  test('default: ?_method=DELETE is removed from the query, every other parameter kept as sent', async () => {
    const res = await send('GET /orders/7?a=1&_method=DELETE&b=%41 HTTP/1.1');
    assert.equal(res.status, 200);
    assert.equal(backend.received.at(-1)!.url, '/orders/7?a=1&b=%41');
  });

  for (const override of ['X-HTTP-Method-Override: DELETE', 'X-Method-Override: delete']) {
    test(`opted in: "${override}" on a GET is judged as a DELETE: 403 without orders:delete`, async () => {
      const before = backend.received.length;
      const res = await send(`GET /legacy/7 HTTP/1.1\r\n${override}`);
      assert.equal(res.status, 403);
      assert.equal(errorOf(res.body).type, 'InsufficientScopeError');
      assert.equal(backend.received.length, before);
    });
  }

  test('opted in: ?_method=DELETE is judged as a DELETE too', async () => {
    const res = await send('GET /legacy/7?_method=DELETE HTTP/1.1');
    assert.equal(res.status, 403);
  });

  test('opted in: an override naming the same method, or none, passes with its headers forwarded', async () => {
    const res = await send('GET /legacy/7 HTTP/1.1\r\nX-HTTP-Method-Override: GET');
    assert.equal(res.status, 200);
    assert.deepEqual(backend.received.at(-1)!.headers['x-http-method-override'], 'GET');
  });

  test('opted in: overrides that disagree are a 400', async () => {
    const before = backend.received.length;
    const res = await send('POST /legacy/7?_method=GET HTTP/1.1\r\nX-HTTP-Method-Override: DELETE\r\ncontent-length: 0');
    assert.equal(res.status, 400);
    assert.equal(backend.received.length, before);
  });
});
