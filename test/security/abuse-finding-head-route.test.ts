/**
 * Finding (authorization bypass, configuration accepted silently): a route for HEAD only may have a
 * weaker policy than the GET route of the same path, and it wins for HEAD when it comes first. But
 * backends run their GET handler for HEAD (Express, Flask/Werkzeug, Rails, Django, Go's net/http
 * ServeMux patterns "GET /x" also match HEAD, Spring): the handler runs (side effects, expensive work)
 * and its status and headers (Content-Length, ETag, Location, custom headers) come back, without the
 * token the GET route requires.
 *
 *   routes:
 *     - { path: /report, methods: [HEAD], auth: none, upstream: … }   # "cheap health probe"
 *     - { path: /report, methods: [GET],  upstream: … }                # auth: required
 *
 * `HEAD /report` without a token reaches the backend. (In the other order the HEAD route is dead: HEAD
 * is matched by the GET route first, also silently.)
 *
 * Fixed when: the configuration is refused (a HEAD route on a path whose GET route has another policy,
 * or that can never match), or HEAD is always judged by the GET route's policy. This test fails today.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { hostOf } from './support.js';

describe('finding: a HEAD-only route can be weaker than the GET route of its path', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  before(async () => {
    seed = await startSeedEndpoint();
    backend = await startSampleBackend();
  });
  after(() => Promise.all([seed.close(), backend.close()]));

  const document = () => ({
    server: { host: '127.0.0.1', port: 0 },
    validators: { v: { url: seed.validationUrl } },
    routes: [
      { path: '/report', methods: ['HEAD'], upstream: backend.url, auth: 'none' },
      { path: '/report', methods: ['GET'], upstream: backend.url },
    ],
  });

  test('a HEAD route beside a GET route on the same path is refused: HEAD is judged with GET', () => {
    assert.throws(() => buildConfig(document(), {}), /routes\[0\]\.methods: HEAD on \/report is judged with GET \(routes\[1\]\)/);
  });

  test('HEAD is allowed wherever GET is, with the GET route\'s policy: no token, no backend', async () => {
    const gw: TestGateway = await startTestGateway({ ...document(), routes: [{ path: '/report', methods: ['GET'], upstream: backend.url }] });
    try {
      const before = backend.received.length;
      const head = await rawRequest(gw.url, `HEAD /report HTTP/1.1\r\nhost: ${hostOf(gw.url)}`);
      assert.equal(head.status, 401);
      assert.equal(backend.received.length, before);
    } finally {
      await gw.close();
    }
  });
});
