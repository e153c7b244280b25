/**
 * Finding (authorization bypass, path override): X-Original-URL and X-Rewrite-URL pass through. Backends
 * that route by them (Symfony HttpFoundation and Zend Framework / zend-diactoros releases from before
 * their August 2018 fixes for CVE-2018-14773 / ZF2018-01, and so the applications built on them;
 * applications behind IIS URL Rewrite that read X-Original-URL) serve the path they name instead of
 * the request line's. The
 * gateway judges the request line: `GET /public/x` (auth: none) with `X-Original-URL: /admin/users`
 * is allowed and forwarded, and such a backend serves /admin/users without a token. This is the same
 * class as method overrides (finding 6): a header that makes the backend act on something other
 * than what the policy was chosen for.
 *
 * Fixed when: these headers are removed before forwarding (like X-HTTP-Method-Override), or the
 * request is refused. Fixed: these tests passed once the fix landed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { hostOf } from './support.js';

describe('finding: headers that override the path reach the backend', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  before(async () => {
    seed = await startSeedEndpoint();
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { v: { url: seed.validationUrl } },
      routes: [
        { path: '/admin', upstream: backend.url },
        { path: '/public', upstream: backend.url, auth: 'none' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  test('control: /admin without a token is 401', async () => {
    assert.equal((await rawRequest(gw.url, `GET /admin/users HTTP/1.1\r\nhost: ${hostOf(gw.url)}`)).status, 401);
  });

  let serial = 0;
  for (const header of ['X-Original-URL', 'X-Rewrite-URL', 'x-original-url', 'X_Original_URL']) {
    test(`"${header}: /admin/users" on an open route never reaches the backend`, async () => {
      const path = `/public/r${++serial}`;
      const res = await rawRequest(gw.url, `GET ${path} HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\n${header}: /admin/users`);
      const got = backend.received.find((r) => r.url === path);
      if (res.status === 200) assert.deepEqual(got!.rawHeaders.filter((_, i) => i % 2 === 0 && /original|rewrite/i.test(got!.rawHeaders[i])), [], 'forwarded');
      else assert.equal(res.status, 400);
    });
  }
});
