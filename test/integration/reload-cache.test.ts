/**
 * A reload keeps a validator's cached results when they would read the same (same call, rules,
 * identity plans and bounds), and starts that validator's cache empty when anything that shaped
 * them changed: a result must never be read with another configuration's layout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { headerBytes, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';

const TOKEN = 'reload-token-8fK2pQ';

describe('SIGHUP reload and the cache', () => {
  let validator: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  const document = (identityHeaders: Record<string, string>, ttlSeconds = 60) => ({
    server: { host: '127.0.0.1', port: 0 },
    validators: { seed: { url: validator.validationUrl, cache: { ttlSeconds } } },
    routes: [{ path: '/api', upstream: backend.url, identityHeaders }],
  });

  before(async () => {
    validator = await startSeedEndpoint({ users: new Map([[TOKEN, { uid: 'u-1', email: 'jo@example.com' }]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway(document({ 'X-User-Id': 'uid', 'X-User-Email': 'email' }));
  });
  after(async () => {
    await gw.close();
    await Promise.all([validator.close(), backend.close()]);
  });

  const call = async () => {
    const res = await fetch(`${gw.url}/api/x`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const raw = backend.received.at(-1)!.rawHeaders;
    return { id: headerBytes(raw, 'x-user-id').map(String), email: headerBytes(raw, 'x-user-email').map(String), calls: validator.calls.get(TOKEN) ?? 0 };
  };

  test('the same configuration again: results are kept, no new validator call', async () => {
    assert.deepEqual(await call(), { id: ['u-1'], email: ['jo@example.com'], calls: 1 });
    await gw.gateway.reload(buildConfig(document({ 'X-User-Id': 'uid', 'X-User-Email': 'email' }), {}));
    assert.deepEqual(await call(), { id: ['u-1'], email: ['jo@example.com'], calls: 1 });
  });

  test('the identity headers in another order: the cache starts empty, every header keeps its own value', async () => {
    await gw.gateway.reload(buildConfig(document({ 'X-User-Email': 'email', 'X-User-Id': 'uid' }), {}));
    assert.deepEqual(await call(), { id: ['u-1'], email: ['jo@example.com'], calls: 2 });
  });

  test('another ttl: the cache starts empty (old entries were timed by the old ttl)', async () => {
    await gw.gateway.reload(buildConfig(document({ 'X-User-Email': 'email', 'X-User-Id': 'uid' }, 30), {}));
    assert.equal((await call()).calls, 3);
  });
});
