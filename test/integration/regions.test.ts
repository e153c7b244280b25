/**
 * SPEC section 3, regions: a route's validator chosen per request from a header; a missing or
 * unknown value uses `default`; with no default the call is refused with 401 invalid_token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { errorOf, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';

describe('validators per region', () => {
  const servers: Record<string, SeedEndpoint> = {};
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    // Each authorization server knows the same token as a different user.
    for (const region of ['fr', 'ch', 'global']) servers[region] = await startSeedEndpoint({ users: new Map([['tok', { uid: `user-${region}` }]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: {
        'corp-fr': { url: servers.fr.validationUrl },
        'corp-ch': { url: servers.ch.validationUrl },
        corp: { url: servers.global.validationUrl },
      },
      routes: [
        { path: '/with-default', upstream: backend.url, validator: { byHeader: 'X-Region', map: { fr: 'corp-fr', ch: 'corp-ch' }, default: 'corp' }, identityHeaders: { 'X-User-Id': 'uid' } },
        { path: '/strict', upstream: backend.url, validator: { byHeader: 'X-Region', map: { fr: 'corp-fr' } }, identityHeaders: { 'X-User-Id': 'uid' } },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([...Object.values(servers).map((s) => s.close()), backend.close()]);
  });

  async function userFor(path: string, region?: string): Promise<{ status: number; user: string | undefined; body: string }> {
    const headers: Record<string, string> = { authorization: 'Bearer tok' };
    if (region !== undefined) headers['x-region'] = region;
    const before = backend.received.length;
    const res = await fetch(`${gw.url}${path}`, { headers });
    const body = await res.text();
    const user = backend.received.length > before ? (backend.received.at(-1)!.headers['x-user-id'] as string) : undefined;
    return { status: res.status, user, body };
  }

  test('the header value picks the validator (case-insensitively)', async () => {
    assert.deepEqual((await userFor('/with-default', 'fr')).user, 'user-fr');
    assert.deepEqual((await userFor('/with-default', 'CH')).user, 'user-ch');
  });

  test('a missing or unknown value uses the default', async () => {
    assert.equal((await userFor('/with-default')).user, 'user-global');
    assert.equal((await userFor('/with-default', 'de')).user, 'user-global');
  });

  test('without a default, a missing or unknown value is refused with 401 InvalidTokenError', async () => {
    for (const region of [undefined, 'de']) {
      const { status, user, body } = await userFor('/strict', region);
      assert.equal(status, 401);
      assert.equal(user, undefined);
      assert.equal(errorOf(body).type, 'InvalidTokenError');
    }
    assert.equal((await userFor('/strict', 'fr')).user, 'user-fr');
  });

  test('the cache key includes the chosen validator: each region was asked once for the same token', () => {
    assert.equal(servers.fr.calls.get('tok'), 1);
    assert.equal(servers.ch.calls.get('tok'), 1);
    assert.equal(servers.global.calls.get('tok'), 1);
  });

  for (const [name, headers] of [
    ['sent twice', 'X-Region: fr\r\nX-Region: ch'],
    ['sent twice in other cases', 'x-region: fr\r\nX-REGION: fr'],
    ['as a list', 'X-Region: fr, ch'],
  ] as const) {
    test(`a selector header ${name} is a 400 and reaches no validator and no backend (regression: "Keep the door shut" finding 5)`, async () => {
      const before = { backend: backend.received.length, fr: servers.fr.totalCalls(), ch: servers.ch.totalCalls(), global: servers.global.totalCalls() };
      const res = await rawRequest(gw.url, `GET /with-default HTTP/1.1\r\nhost: x\r\nauthorization: Bearer fresh-${name.length}\r\n${headers}`);
      assert.equal(res.status, 400);
      assert.equal(errorOf(res.body).type, 'InvalidRequestError');
      assert.deepEqual(res.headers.get('www-authenticate'), ['Bearer realm="tokengate", error="invalid_request"']);
      assert.deepEqual({ backend: backend.received.length, fr: servers.fr.totalCalls(), ch: servers.ch.totalCalls(), global: servers.global.totalCalls() }, before);
    });
  }
});
