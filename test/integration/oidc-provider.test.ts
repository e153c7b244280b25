/**
 * tokengate in front of a real RFC 7662 authorization server (oidc-provider: client credentials,
 * introspection, revocation), with an echo backend: real tokens in, identity out; dead, revoked,
 * under-scoped and expired tokens refused as SPEC sections 1 and 4 say.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startAuthorizationServer, type AuthorizationServer } from '../fixtures/authorization-server.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { errorOf, startTestGateway, type TestGateway } from '../fixtures/gateway.js';

const IDENTITY = { 'X-Client-Id': 'client_id', 'X-Scopes': 'scope' };

describe('rfc7662 validator against oidc-provider', () => {
  let as: AuthorizationServer;
  /** A second server whose tokens live 2 s. */
  let shortAs: AuthorizationServer;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    [as, shortAs, backend] = await Promise.all([startAuthorizationServer(), startAuthorizationServer({ accessTokenTtlSeconds: 2 }), startSampleBackend()]);
    const rfc7662 = (server: AuthorizationServer, method: 'client_secret_basic' | 'client_secret_post', extra: Record<string, unknown> = {}, secret = server.client.clientSecret) => ({
      url: server.introspectionUrl,
      style: 'rfc7662',
      clientAuth: { method, clientId: server.client.clientId, clientSecret: secret },
      ...extra,
    });
    gw = await startTestGateway({
      validators: {
        basic: rfc7662(as, 'client_secret_basic'),
        post: rfc7662(as, 'client_secret_post'),
        nocache: rfc7662(as, 'client_secret_basic', { cache: { ttlSeconds: 0, negativeTtlSeconds: 0 } }),
        wrongSecret: rfc7662(as, 'client_secret_basic', {}, 'not-the-secret'),
        short: rfc7662(shortAs, 'client_secret_basic', { cache: { ttlSeconds: 60, negativeTtlSeconds: 0 } }),
      },
      routes: [
        { path: '/basic', upstream: backend.url, validator: 'basic', identityHeaders: IDENTITY },
        { path: '/post', upstream: backend.url, validator: 'post', identityHeaders: IDENTITY },
        { path: '/nocache', upstream: backend.url, validator: 'nocache', identityHeaders: IDENTITY },
        { path: '/wrong-secret', upstream: backend.url, validator: 'wrongSecret' },
        { path: '/write', upstream: backend.url, validator: 'basic', requiredScopes: ['orders:write'], identityHeaders: IDENTITY },
        { path: '/short', upstream: backend.url, validator: 'short', identityHeaders: IDENTITY },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([as?.close(), shortAs?.close(), backend?.close()]);
  });

  const get = (path: string, token: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  async function assertInvalidToken(res: Response): Promise<void> {
    const body = await res.text();
    assert.equal(res.status, 401, body);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tokengate", error="invalid_token"');
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(errorOf(body).type, 'InvalidTokenError');
  }

  test('client_secret_basic: a minted token is accepted; client_id and scope reach the backend as identity headers', async () => {
    const token = await as.mintToken('orders:read profile');
    const res = await get('/basic/orders/1', token);
    assert.equal(res.status, 200, await res.clone().text());
    const echoed = (await res.json()) as { url: string; headers: Record<string, string> };
    assert.equal(echoed.url, '/basic/orders/1');
    assert.equal(echoed.headers['x-client-id'], as.client.clientId);
    assert.equal(echoed.headers['x-scopes'], 'orders:read profile');
    const got = backend.received.at(-1)!;
    assert.equal(got.headers['x-client-id'], as.client.clientId);
    assert.equal(got.headers['x-scopes'], 'orders:read profile');
  });

  test('client_secret_post: a minted token is accepted with the same identity', async () => {
    const token = await as.mintToken('orders:read');
    const res = await get('/post', token);
    assert.equal(res.status, 200, await res.clone().text());
    const got = backend.received.at(-1)!;
    assert.equal(got.url, '/post');
    assert.equal(got.headers['x-client-id'], as.client.clientId);
    assert.equal(got.headers['x-scopes'], 'orders:read');
  });

  test('the gateway authenticates with the configured secret: a wrong one gets 401 from the server, hence 401 InvalidTokenError', async () => {
    const token = await as.mintToken('orders:read');
    const before = backend.received.length;
    await assertInvalidToken(await get('/wrong-secret', token));
    assert.equal(backend.received.length, before);
  });

  test('a made-up token: oidc-provider answers 200 {"active":false}, refused 401 InvalidTokenError (requireActive auto)', async () => {
    // The premise: the server really answers 200 with active false (not a 4xx).
    const direct = await fetch(as.introspectionUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${as.client.clientId}:${as.client.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ token: 'made-up-token-1234567890' }),
    });
    assert.equal(direct.status, 200);
    assert.deepEqual(await direct.json(), { active: false });

    const before = backend.received.length;
    for (const path of ['/basic', '/post', '/nocache']) {
      const res = await get(path, 'made-up-token-1234567890');
      await assertInvalidToken(res);
    }
    assert.equal(backend.received.length, before, 'a refused call never reaches the backend');
    const lines = gw.logs.requests().filter((l) => l.status === 401 && l.path === '/basic');
    assert.equal(lines.at(-1)?.reason, 'token_inactive');
  });

  test('a revoked token is refused at once with caching off: 200 before revocation, 401 after', async () => {
    const token = await as.mintToken('orders:read');
    const ok = await get('/nocache/x', token);
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    await as.revoke(token);
    const before = backend.received.length;
    await assertInvalidToken(await get('/nocache/x', token));
    assert.equal(backend.received.length, before);
  });

  test('requiredScopes: a token without orders:write is 403 InsufficientScopeError; with it, 200', async () => {
    const readOnly = await as.mintToken('orders:read');
    const before = backend.received.length;
    const refused = await get('/write', readOnly);
    const body = await refused.text();
    assert.equal(refused.status, 403, body);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="tokengate", error="insufficient_scope", scope="orders:write"');
    assert.equal(errorOf(body).type, 'InsufficientScopeError');
    assert.ok(!body.includes(readOnly), 'the message never contains the token');
    assert.equal(backend.received.length, before);

    const writer = await as.mintToken('orders:read orders:write');
    const allowed = await get('/write', writer);
    assert.equal(allowed.status, 200, await allowed.clone().text());
    assert.equal(backend.received.at(-1)!.headers['x-scopes'], 'orders:read orders:write');
  });

  test('exp from introspection caps the cache lifetime (ttlSeconds 60, token lives 2 s)', async () => {
    const token = await shortAs.mintToken('orders:read');
    const first = await get('/short', token);
    assert.equal(first.status, 200);
    await first.body?.cancel();
    const second = await get('/short', token);
    assert.equal(second.status, 200);
    await second.body?.cancel();
    // The token's exp as the server reports it: at most 2 s away, far inside ttlSeconds (60).
    const introspected = await fetch(shortAs.introspectionUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${shortAs.client.clientId}:${shortAs.client.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ token }),
    });
    const { active, exp } = (await introspected.json()) as { active: boolean; exp: number };
    assert.equal(active, true);
    assert.ok(exp * 1000 - Date.now() <= 2_000, `exp ${exp} should be within 2 s`);
    // Just past exp (the server then reports the token inactive), long before the 60 s ttl.
    await sleep(Math.max(0, exp * 1000 - Date.now()) + 300);
    await assertInvalidToken(await get('/short', token));
    const lines = gw.logs.requests().filter((l) => l.path === '/short');
    assert.deepEqual(
      lines.map((l) => [l.status, l.cache]),
      [
        [200, 'miss'],
        [200, 'hit'],
        [401, 'miss'],
      ],
      'the third call must ask the server again, not serve the cached positive result',
    );
  });
});
