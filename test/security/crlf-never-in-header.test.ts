/**
 * SPEC section 5: "A value containing CR, LF or NUL is never sent (the header is dropped and a
 * warning logged)." The validator's 200 body is attacker-influenced data (a user can often set their
 * own name or e-mail): it must never split a header or inject another one. And a token carrying
 * CR/LF (percent-encoded in the query or a form) is not a bearer token at all: 400.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type ReceivedRequest, type SampleBackend } from '../fixtures/sample-backend.js';
import { errorOf, headerBytes, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { assertGatewayError, hostOf } from './support.js';

const EVIL_VALUES: Record<string, string> = {
  crlf: 'a\r\nX-Injected: 1',
  lf: 'a\nX-Injected: 1',
  cr: 'a\rX-Injected: 1',
  nul: 'a\u0000X-Injected: 1',
  crlfcrlf: 'a\r\n\r\nGET /smuggled HTTP/1.1\r\nX-Injected: 1',
  unicodeNewlines: 'a\u0085\u2028X-Injected: 1', // not CR/LF: allowed, but must arrive as UTF-8 bytes, not split
};

function tokenFor(kind: string, route: string): string {
  return `evil-${kind}-${route}-token`;
}

describe('CR, LF and NUL never reach a header', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    const users = new Map<string, unknown>();
    for (const [kind, value] of Object.entries(EVIL_VALUES)) {
      for (const route of ['utf8', 'pct']) users.set(tokenFor(kind, route), { ...SEED_USER_INFO, uid: value });
    }
    users.set('evil-array-token', { ...SEED_USER_INFO, accounts: [{ uid: '100004567' }, { uid: '1\r\nX-Injected: 1' }] });
    users.set('evil-email-token', { ...SEED_USER_INFO, email: 'x@y.se\r\nX-Injected: 1' });
    seed = await startSeedEndpoint({ users });
    backend = await startSampleBackend();
    const identityHeaders = { 'X-User-Id': 'uid', 'X-User-Email': 'email', 'X-Account-Ids': '$.accounts[*].uid' };
    gw = await startTestGateway({
      validators: { main: { url: seed.validationUrl, timeoutMs: 200 } },
      routes: [
        { path: '/utf8', upstream: backend.url, identityHeaders },
        { path: '/pct', upstream: backend.url, identityHeaders, identityEncoding: 'percent' },
        { path: '/q', upstream: backend.url, tokenFrom: ['query'] },
        { path: '/form', upstream: backend.url, tokenFrom: ['form'] },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  async function allowed(path: string, token: string): Promise<ReceivedRequest> {
    const before = backend.received.length;
    const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, await res.text());
    assert.equal(backend.received.length, before + 1, 'exactly one backend request, nothing smuggled');
    return backend.received.at(-1)!;
  }
  function assertNoControlBytes(got: ReceivedRequest): void {
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-injected'), []);
    for (const value of got.rawHeaders) assert.equal(/[\r\n\0]/.test(value), false, `control byte in ${JSON.stringify(value)}`);
  }
  function dropWarnings(header: string): Record<string, unknown>[] {
    return gw.logs.lines().filter((line) => line.msg === 'identity header dropped' && line.header === header);
  }

  for (const kind of ['crlf', 'lf', 'cr', 'nul', 'crlfcrlf']) {
    for (const route of ['utf8', 'pct']) {
      test(`uid with ${kind} (${route === 'pct' ? 'identityEncoding percent' : 'utf8'}): allowed, X-User-Id dropped, a warning logged`, async () => {
        const warningsBefore = dropWarnings('X-User-Id').length;
        const got = await allowed(`/${route}`, tokenFor(kind, route));
        assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [], 'the header is dropped, not sanitised');
        assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-email'), [Buffer.from(route === 'pct' ? 'jason.borne%40marketplace.se' : 'jason.borne@marketplace.se')], 'the other identity headers still go');
        assertNoControlBytes(got);
        assert.ok(backend.received.every((r) => r.url !== '/smuggled'), 'no second request was smuggled to the backend');
        const warnings = dropWarnings('X-User-Id').slice(warningsBefore);
        assert.ok(warnings.length >= 1, 'a warning is logged');
        for (const warning of warnings) {
          assert.equal(warning.level, 40);
          assert.match(String(warning.fp), /^[0-9a-f]{8}$/);
        }
      });
    }
  }

  test('one bad element of a multi-valued path drops the whole header (not a partial list)', async () => {
    const got = await allowed('/utf8', 'evil-array-token');
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-account-ids'), []);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from('abcd23456')]);
    assertNoControlBytes(got);
    assert.ok(dropWarnings('X-Account-Ids').length >= 1);
  });

  test('CRLF in another field (email) drops that header only', async () => {
    const got = await allowed('/utf8', 'evil-email-token');
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-email'), []);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from('abcd23456')]);
    assertNoControlBytes(got);
  });

  test('Unicode line separators (U+0085, U+2028) are not CR/LF: sent as UTF-8 bytes, never split', async () => {
    const got = await allowed('/utf8', tokenFor('unicodeNewlines', 'utf8'));
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from(EVIL_VALUES.unicodeNewlines, 'utf8')]);
    assertNoControlBytes(got);
    const pct = await allowed('/pct', tokenFor('unicodeNewlines', 'pct'));
    assert.equal(pct.headers['x-user-id'], 'a%C2%85%E2%80%A8X-Injected%3A%201');
  });

  test('the warnings do not carry the offending value', () => {
    const warnings = gw.logs.lines().filter((line) => line.msg === 'identity header dropped');
    assert.ok(warnings.length >= 10);
    for (const warning of warnings) assert.equal(JSON.stringify(warning).includes('X-Injected'), false);
  });

  for (const encoded of ['a%0D%0Ab', 'a%0Ab', 'a%0Db', 'a%00b', 'a%0D%0AX-Injected:%201']) {
    test(`token ${encoded} in the query: 400 InvalidRequestError, validator not asked`, async () => {
      const validatorCalls = seed.totalCalls();
      const before = backend.received.length;
      const res = await fetch(`${gw.url}/q?access_token=${encoded}`);
      await assertGatewayError(res, 400, 'InvalidRequestError');
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tokengate", error="invalid_request"');
      assert.equal(seed.totalCalls(), validatorCalls);
      assert.equal(backend.received.length, before);
    });
  }

  test('token with CR/LF in a form body: 400, validator not asked', async () => {
    const validatorCalls = seed.totalCalls();
    const before = backend.received.length;
    const res = await fetch(`${gw.url}/form`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'access_token=a%0D%0Ab&x=1' });
    await assertGatewayError(res, 400, 'InvalidRequestError');
    assert.equal(seed.totalCalls(), validatorCalls);
    assert.equal(backend.received.length, before);
  });

  test('a bare CR inside the Authorization header: 400, validator not asked', async () => {
    const validatorCalls = seed.totalCalls();
    const before = backend.received.length;
    const res = await rawRequest(gw.url, `GET /utf8 HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\nauthorization: Bearer a\rX-Injected: 1`);
    assert.equal(res.status, 400);
    assert.equal(seed.totalCalls(), validatorCalls);
    assert.equal(backend.received.length, before);
  });

  test('percent-encoded CR/LF in an Authorization header value: 400 (not a b64token), validator not asked', async () => {
    const validatorCalls = seed.totalCalls();
    const res = await rawRequest(gw.url, `GET /utf8 HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\nauthorization: Bearer a%0D%0Ab`);
    assert.equal(res.status, 400);
    assert.equal(errorOf(res.body).type, 'InvalidRequestError');
    assert.equal(seed.totalCalls(), validatorCalls);
  });
});
