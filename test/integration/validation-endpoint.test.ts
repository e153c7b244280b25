/**
 * SPEC 7.2, the seed's endpoint served: tokengate in front of a real RFC 7662 authorization server
 * (oidc-provider) answers as the seed's connector expects: 200 + the validator's JSON for a good
 * token, 401 in the seed's `{"errors":[…]}` shape (never the token) for a revoked or made-up one,
 * 401 MissingTokenError without one, 503 + Retry-After when the validator is down; cached and
 * single-flighted. And a second tokengate with `style: bearer` in front of that endpoint (the
 * seed's connector, played by tokengate itself) proxies good calls and refuses bad ones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startAuthorizationServer, type AuthorizationServer } from '../fixtures/authorization-server.js';
import { errorOf, headerBytes, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { closedPort } from '../security/support.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';

const PATH = '/uat/se/storel/GetUserDetails';

describe("the seed's validation endpoint, served in front of oidc-provider", () => {
  let as: AuthorizationServer;
  let seedStyle: SeedEndpoint;
  let backend: SampleBackend;
  let endpoint: TestGateway;
  let connector: TestGateway;
  let downPort: number;

  before(async () => {
    as = await startAuthorizationServer();
    seedStyle = await startSeedEndpoint({ users: new Map([['seed-user-token', { ...SEED_USER_INFO, exp: Math.floor(Date.now() / 1000) + 3600 }]]) });
    backend = await startSampleBackend();
    downPort = await closedPort();
    endpoint = await startTestGateway({
      validators: {
        corp: { url: as.introspectionUrl, style: 'rfc7662', clientAuth: { method: 'client_secret_basic', clientId: as.client.clientId, clientSecret: as.client.clientSecret }, cache: { ttlSeconds: 1, negativeTtlSeconds: 1 } },
      },
      // No routes: the served endpoint alone.
      validationEndpoint: { path: PATH, validator: 'corp' },
    });
    // The seed's connector, played by a second tokengate: style bearer, 200 = valid.
    connector = await startTestGateway({
      validators: { mashery: { url: `${endpoint.url}${PATH}`, query: { api_key: 'ignored-by-tokengate' }, cache: { ttlSeconds: 0, negativeTtlSeconds: 0 } } },
      routes: [{ path: '/api', upstream: backend.url, identityHeaders: { 'X-Client-Id': 'client_id', 'X-Scopes': 'scope' } }],
    });
  });
  after(async () => {
    await Promise.all([connector.close(), endpoint.close()]);
    await Promise.all([as.close(), seedStyle.close(), backend.close()]);
  });

  const ask = (token: string | null, query = '?api_key=whatever', gw = endpoint) =>
    fetch(`${gw.url}${PATH}${query}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });

  test('a real token: 200, application/json; charset=utf-8, the introspection answer as the body', async () => {
    const token = await as.mintToken('orders:read');
    const res = await ask(token);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.active, true);
    assert.equal(body.client_id, as.client.clientId);
    assert.equal(body.scope, 'orders:read');
    assert.equal(endpoint.logs.requests().at(-1)!.face, 'validation-endpoint');
  });

  test('a revoked token: 401 in exactly the seed\'s shape, never the token', async () => {
    const token = await as.mintToken('orders:read');
    await as.revoke(token);
    const res = await ask(token);
    assert.equal(res.status, 401);
    const text = await res.text();
    assert.equal(text.includes(token), false);
    const body = JSON.parse(text) as { errors: { type: string; message: string }[] };
    assert.deepEqual(Object.keys(body), ['errors']);
    assert.equal(body.errors.length, 1);
    assert.deepEqual(Object.keys(body.errors[0]), ['type', 'message']);
    assert.equal(body.errors[0].type, 'InvalidTokenError');
  });

  test('a made-up token: 401 InvalidTokenError (RFC 7662 active:false is not valid here)', async () => {
    const res = await ask('made-up-token-1234');
    assert.equal(res.status, 401);
    assert.equal(errorOf(await res.text()).type, 'InvalidTokenError');
  });

  test('no token: 401 MissingTokenError', async () => {
    const res = await ask(null);
    assert.equal(res.status, 401);
    assert.equal(errorOf(await res.text()).type, 'MissingTokenError');
  });

  test('another method: 405 with Allow: GET, HEAD', async () => {
    const res = await fetch(`${endpoint.url}${PATH}`, { method: 'POST', body: '' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    await res.arrayBuffer();
  });

  test('cached and single-flighted: 20 concurrent questions about one new token, one introspection', async () => {
    const token = await as.mintToken('profile');
    const before = endpoint.logs.requests().length;
    const answers = await Promise.all(Array.from({ length: 20 }, () => ask(token).then((r) => r.status)));
    assert.deepEqual(new Set(answers), new Set([200]));
    const lines = endpoint.logs.requests().slice(before);
    assert.equal(lines.filter((line) => line.cache === 'miss').length, 1);
  });

  test('the validator down: 503 with Retry-After', async () => {
    const down = await startTestGateway({
      validators: { down: { url: `http://127.0.0.1:${downPort}/introspect`, style: 'rfc7662', clientAuth: { method: 'none' }, timeoutMs: 300 } },
      validationEndpoint: { path: PATH, validator: 'down' },
    });
    try {
      const res = await ask('any-token-here', '', down);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      assert.equal(errorOf(await res.text()).type, 'ValidationUnavailableError');
    } finally {
      await down.close();
    }
  });

  test('UTF-8 survives: the seed user through a seed-style validator keeps öhlundi', async () => {
    const viaEndpoint = await startTestGateway({ validators: { seed: { url: seedStyle.validationUrl } }, validationEndpoint: { path: '/me', validator: 'seed' } });
    try {
      const res = await fetch(`${viaEndpoint.url}/me`, { headers: { authorization: 'Bearer seed-user-token' } });
      assert.equal(res.status, 200);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.ok(bytes.includes(Buffer.from('öhlundi', 'utf8')), 'the UTF-8 bytes as the validator sent them');
      assert.equal(((JSON.parse(bytes.toString('utf8')) as { accounts: { name: string }[] }).accounts[1]).name, 'Duffy woöf');
    } finally {
      await viaEndpoint.close();
    }
  });

  test('tokengate (style bearer) in front of the served endpoint: a good token is proxied with identity, a revoked one refused', async () => {
    const token = await as.mintToken('orders:read');
    const before = backend.received.length;
    const ok = await fetch(`${connector.url}/api/orders`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    assert.equal(backend.received.length, before + 1);
    assert.deepEqual(headerBytes(backend.received.at(-1)!.rawHeaders, 'x-client-id').map(String), [as.client.clientId]);
    assert.deepEqual(headerBytes(backend.received.at(-1)!.rawHeaders, 'x-scopes').map(String), ['orders:read']);

    await as.revoke(token);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the endpoint's 1 s cache of the good result
    const refused = await fetch(`${connector.url}/api/orders`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(refused.status, 401);
    await refused.arrayBuffer();
    assert.equal(backend.received.length, before + 1);
  });
});
