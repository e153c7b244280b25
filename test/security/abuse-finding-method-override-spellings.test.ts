/**
 * Finding (authorization bypass, method override): the fix for finding 6 removes
 * X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override and `?_method=` unless a route opts in,
 * but two spellings that backends honour still pass:
 *
 * - `_method` in a form body: Rails (Rack::MethodOverride, in the default stack of non-API apps),
 *   Laravel and Symfony (httpMethodParameterOverride) route `POST` with `_method=DELETE` in an
 *   application/x-www-form-urlencoded (or multipart) body as a DELETE. It is the convention's main
 *   form, the query parameter its rarer one.
 * - `X_HTTP_Method_Override`: the gateway's own header-names.ts says "CGI, WSGI, Rack and PHP turn
 *   both into HTTP_X_USER_ID" and strips identity headers in every such spelling, but not this one.
 *   Rack::MethodOverride reads env["HTTP_X_HTTP_METHOD_OVERRIDE"], which Puma fills from the
 *   underscore spelling when the dash one is absent.
 *
 * Reproduction: a token with scope orders:write only; `POST /orders` (requiredScopes
 * orders:write, allowed) with body `_method=DELETE`, or with header `X_HTTP_Method_Override: DELETE`;
 * the DELETE route requires orders:delete. The backend gets the override, and a Rails/Laravel backend
 * deletes.
 *
 * Fixed when: on a route without methodOverride the override never reaches the backend (removed, or
 * the request refused with 400); on an opted-in route the policy is chosen for the overriding method.
 * Fixed: these tests passed once the fix landed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { headerBytes, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { hostOf } from './support.js';

const WRITER = 'override-writer-token';

describe('finding: method overrides in other spellings reach the backend', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  before(async () => {
    seed = await startSeedEndpoint({ users: new Map([[WRITER, { uid: 'w', scope: 'orders:write' }]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { v: { url: seed.validationUrl } },
      routes: [
        { path: '/orders', methods: ['POST'], upstream: backend.url, requiredScopes: ['orders:write'] },
        { path: '/orders', methods: ['DELETE'], upstream: backend.url, requiredScopes: ['orders:delete'] },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  let serial = 0;
  async function post(headers: string[], body: string) {
    const path = `/orders/r${++serial}`;
    const res = await rawRequest(gw.url, [`POST ${path} HTTP/1.1`, `host: ${hostOf(gw.url)}`, `authorization: Bearer ${WRITER}`, ...headers].join('\r\n'), body);
    return { status: res.status, got: backend.received.find((r) => r.url === path) };
  }

  test('control: a DELETE with this token is refused (403), and X-HTTP-Method-Override is removed', async () => {
    const res = await rawRequest(gw.url, `DELETE /orders/1 HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\nauthorization: Bearer ${WRITER}`);
    assert.equal(res.status, 403);
    const { status, got } = await post(['X-HTTP-Method-Override: DELETE'], '');
    assert.equal(status, 200);
    assert.deepEqual(headerBytes(got!.rawHeaders, 'x-http-method-override'), []);
  });

  for (const [label, contentType, body] of [
    ['urlencoded', 'application/x-www-form-urlencoded', 'id=7&_method=DELETE'],
    ['urlencoded, name percent-encoded', 'application/x-www-form-urlencoded', 'id=7&%5Fmethod=delete'],
    ['multipart', 'multipart/form-data; boundary=XyZ', '--XyZ\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--XyZ--\r\n'],
  ] as const) {
    test(`_method=DELETE in a ${label} POST body never reaches the backend as an override`, async () => {
      const { status, got } = await post([`content-type: ${contentType}`], body);
      if (status === 200) assert.doesNotMatch(got!.body.toString('latin1'), /_method|%5Fmethod/i, 'forwarded with the override in its body');
      else assert.equal(status, 400, `refused with ${status}`);
    });
  }

  for (const name of ['X_HTTP_Method_Override', 'x_http_method', 'X_Method_Override']) {
    test(`"${name}: DELETE" (a spelling CGI-style servers read as the override) never reaches the backend`, async () => {
      const { status, got } = await post([`${name}: DELETE`], '');
      if (status === 200) assert.deepEqual(got!.rawHeaders.filter((_, i) => i % 2 === 0 && /method/i.test(got!.rawHeaders[i])), [], 'forwarded');
      else assert.equal(status, 400);
    });
  }
});
