/**
 * The seed's sample exchange, end to end: a validator that answers exactly like the seed document
 * (200 + user info, 401 + the errors body that repeats the token), the gateway, an echo backend.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { errorOf, headerBytes, startTestGateway, type TestGateway } from '../fixtures/gateway.js';

const GOOD = '8dbd30ed-2e19-42cf-9b86-aaaaaaaa';
const UNKNOWN = '8dbd30ed-2e19-42cf-9b86-xxxxxxxx';

describe('the seed sample through the gateway', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    seed = await startSeedEndpoint({ apiKey: 'k3y', users: new Map([[GOOD, SEED_USER_INFO]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway(
      {
        validators: { mashery: { url: seed.validationUrl, query: { api_key: '${API_KEY}' } } },
        routes: [
          {
            path: '/orders',
            upstream: backend.url,
            identityHeaders: { 'X-User-Id': 'uid', 'X-User-Email': '$.email', 'X-User-Last-Name': 'lastName', 'X-Account-Ids': '$.accounts[*].uid', 'X-Account-Names': '$.accounts[*].name' },
          },
          {
            path: '/pct',
            upstream: backend.url,
            identityEncoding: 'percent',
            identityHeaders: { 'X-User-Last-Name': 'lastName', 'X-Account-Names': '$.accounts[*].name' },
          },
        ],
      },
      { API_KEY: 'k3y' },
    );
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  test('200 from the validator: the call reaches the backend with the identity headers as UTF-8 bytes', async () => {
    const res = await fetch(`${gw.url}/orders/7?x=1`, { headers: { authorization: `Bearer ${GOOD}` } });
    assert.equal(res.status, 200);
    const got = backend.received.at(-1)!;
    assert.equal(got.url, '/orders/7?x=1');
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from('abcd23456')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-email'), [Buffer.from('jason.borne@marketplace.se')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-last-name'), [Buffer.from('öhlundi', 'utf8')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-account-ids'), [Buffer.from('100004567,100004444')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-account-names'), [Buffer.from('Adam Phils,Duffy woöf', 'utf8')]);
    // The api_key from the environment reached the validator with the caller's token as Bearer.
    assert.equal(seed.calls.get(GOOD), 1);
  });

  test('identityEncoding percent: RFC 3986 upper-case hex, each value encoded, joined with ","', async () => {
    const res = await fetch(`${gw.url}/pct`, { headers: { authorization: `Bearer ${GOOD}` } });
    assert.equal(res.status, 200);
    const got = backend.received.at(-1)!;
    assert.equal(got.headers['x-user-last-name'], '%C3%B6hlundi');
    assert.equal(got.headers['x-account-names'], 'Adam%20Phils,Duffy%20wo%C3%B6f');
  });

  test('401 from the validator: 401 InvalidTokenError, the seed body (which repeats the token) is not passed on', async () => {
    const before = backend.received.length;
    const res = await fetch(`${gw.url}/orders`, { headers: { authorization: `Bearer ${UNKNOWN}` } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tokengate", error="invalid_token"');
    const body = await res.text();
    assert.equal(errorOf(body).type, 'InvalidTokenError');
    assert.ok(!body.includes(UNKNOWN), 'the token must not be echoed');
    assert.ok(!body.includes('8dbd30ed'), 'no part of the token is echoed');
    assert.equal(backend.received.length, before, 'a denied call never reaches the backend');
  });
});
