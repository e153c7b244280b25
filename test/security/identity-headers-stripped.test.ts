/**
 * SPEC section 5: "Any header that the route's identityHeaders name is removed from the incoming
 * request before anything else, on every route and every outcome: a client can never forge
 * identity." Forged copies, in any letter case and repeated, are sent over a raw socket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type ReceivedRequest, type SampleBackend } from '../fixtures/sample-backend.js';
import { headerBytes, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { hostOf } from './support.js';

const GOOD = '8dbd30ed-2e19-42cf-9b86-aaaaaaaa';
const NO_UID = '8dbd30ed-2e19-42cf-9b86-nouid000';
const { uid: _uid, ...USER_WITHOUT_UID } = SEED_USER_INFO;

/** Every forged identity header, in several spellings, each more than once. */
const FORGED = [
  'X-User-Id: admin',
  'x-user-id: admin',
  'X-USER-ID: root',
  'x-UsEr-iD: admin',
  'X-User-Email: boss@evil.example',
  'x-user-email: boss@evil.example',
  'X-Account-Ids: 1,2,3',
  'X-ACCOUNT-IDS: 4',
].join('\r\n');
const FORGED_VALUES = ['admin', 'root', 'boss@evil.example', '1,2,3'];

describe('forged identity headers never reach the backend', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    seed = await startSeedEndpoint({ users: new Map<string, unknown>([[GOOD, SEED_USER_INFO], [NO_UID, USER_WITHOUT_UID]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { main: { url: seed.validationUrl, timeoutMs: 200 } },
      routes: [
        { path: '/api', upstream: backend.url, identityHeaders: { 'X-User-Id': 'uid', 'X-User-Email': '$.email' } },
        { path: '/public', upstream: backend.url, auth: 'none' },
        { path: '/opt', upstream: backend.url, auth: 'optional', identityHeaders: { 'X-Account-Ids': '$.accounts[*].uid' } },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  /** Sends `GET path` with the forged headers (and `extra`), expects 200, returns what the backend got. */
  async function forged(path: string, extra = ''): Promise<ReceivedRequest> {
    const before = backend.received.length;
    const res = await rawRequest(gw.url, `GET ${path} HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\n${FORGED}${extra === '' ? '' : `\r\n${extra}`}`);
    assert.equal(res.status, 200, res.body);
    assert.equal(backend.received.length, before + 1, 'exactly one backend call');
    return backend.received.at(-1)!;
  }
  function assertNoForgedValue(got: ReceivedRequest): void {
    for (let i = 1; i < got.rawHeaders.length; i += 2) {
      assert.equal(FORGED_VALUES.includes(got.rawHeaders[i]), false, `forged value "${got.rawHeaders[i]}" in ${got.rawHeaders[i - 1]}`);
    }
  }

  test('allowed route: the backend sees only the validator\'s values, exactly once each', async () => {
    const got = await forged('/api/me', `authorization: Bearer ${GOOD}`);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from('abcd23456')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-email'), [Buffer.from('jason.borne@marketplace.se')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-account-ids'), [], 'a header of another route\'s plan is stripped, not forwarded');
    assertNoForgedValue(got);
  });

  test('auth: none route: headers named by other routes\' identityHeaders are still stripped', async () => {
    const got = await forged('/public/page');
    for (const name of ['x-user-id', 'x-user-email', 'x-account-ids']) assert.deepEqual(headerBytes(got.rawHeaders, name), [], name);
    assertNoForgedValue(got);
  });

  test('auth: none route with a token: still stripped, nothing added', async () => {
    const got = await forged('/public/page', `authorization: Bearer ${GOOD}`);
    for (const name of ['x-user-id', 'x-user-email', 'x-account-ids']) assert.deepEqual(headerBytes(got.rawHeaders, name), [], name);
  });

  test('auth: optional route without a token: stripped', async () => {
    const got = await forged('/opt/x');
    for (const name of ['x-user-id', 'x-user-email', 'x-account-ids']) assert.deepEqual(headerBytes(got.rawHeaders, name), [], name);
    assertNoForgedValue(got);
  });

  test('auth: optional route with a token: only the route\'s own identity header, from the validator', async () => {
    const got = await forged('/opt/x', `authorization: Bearer ${GOOD}`);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-account-ids'), [Buffer.from('100004567,100004444')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), []);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-email'), []);
    assertNoForgedValue(got);
  });

  test('the validator\'s answer lacks the path: the header is absent, not the forged one', async () => {
    const got = await forged('/api/me', `authorization: Bearer ${NO_UID}`);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), []);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-email'), [Buffer.from('jason.borne@marketplace.se')]);
    assertNoForgedValue(got);
  });

  test('a cache hit strips just the same', async () => {
    const got = await forged('/api/again', `authorization: Bearer ${GOOD}`);
    assert.equal(seed.calls.get(GOOD), 1, 'served from the cache');
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from('abcd23456')]);
    assertNoForgedValue(got);
  });

  test('a forged header on a denied call: denied, backend never called', async () => {
    const before = backend.received.length;
    const res = await rawRequest(gw.url, `GET /api/me HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\n${FORGED}`);
    assert.equal(res.status, 401);
    assert.equal(backend.received.length, before);
  });

  test(
    'underscore spelling (X_User_Id) does not reach the backend either (CGI/WSGI/Rack/PHP read it as X-User-Id)',
    async () => {
      const before = backend.received.length;
      const res = await rawRequest(gw.url, `GET /api/me HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\nX_User_Id: admin\r\nauthorization: Bearer ${GOOD}`);
      assert.equal(res.status, 200);
      assert.equal(backend.received.length, before + 1);
      assert.deepEqual(headerBytes(backend.received.at(-1)!.rawHeaders, 'x_user_id'), []);
    },
  );
});

describe('every spelling a backend reads as the identity header is stripped (regression: "Keep the door shut" finding 4)', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    seed = await startSeedEndpoint({ users: new Map<string, unknown>([[GOOD, { ...SEED_USER_INFO, tenant: 't-real' }]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { main: { url: seed.validationUrl } },
      routes: [
        { path: '/underscore', upstream: backend.url, identityHeaders: { X_Tenant: 'tenant' } },
        { path: '/dash', upstream: backend.url, identityHeaders: { 'X-Tenant': 'tenant' } },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  const SPELLINGS = ['X-Tenant: forged', 'x-tenant: forged', 'X_Tenant: forged', 'x_TENANT: forged', 'X-tEnAnT: forged', 'X_TENANT: forged'].join('\r\n');

  for (const path of ['/underscore', '/dash']) {
    test(`${path}: only the gateway's own value, under its own spelling, reaches the backend`, async () => {
      const res = await rawRequest(gw.url, `GET ${path} HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\nauthorization: Bearer ${GOOD}\r\n${SPELLINGS}`);
      assert.equal(res.status, 200, res.body);
      const raw = backend.received.at(-1)!.rawHeaders;
      const tenantLike: string[] = [];
      for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase().replaceAll('_', '-') === 'x-tenant') tenantLike.push(`${raw[i]}: ${raw[i + 1]}`);
      assert.deepEqual(tenantLike, [`${path === '/dash' ? 'X-Tenant' : 'X_Tenant'}: t-real`]);
    });
  }

  test('two identity headers that a backend reads as one are a configuration error', async () => {
    await assert.rejects(
      startTestGateway({ validators: { main: { url: seed.validationUrl } }, routes: [{ path: '/x', upstream: backend.url, identityHeaders: { 'X-Tenant': 'tenant', x_tenant: 'uid' } }] }),
      /routes\[0\]\.identityHeaders\.x_tenant: is the same header as X-Tenant/,
    );
  });
});
