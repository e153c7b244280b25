/**
 * SPEC section 1: "Any other status [than 200] is a failed validation: … 3xx (redirects are never
 * followed)". A validator answering a redirect whose target would say 200 gives 401
 * InvalidTokenError; the target is never called, nor the backend.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SEED_USER_INFO, startSeedEndpoint, type ScriptedAnswer, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { assertGatewayError } from './support.js';

const USER = JSON.stringify(SEED_USER_INFO);
const JSON_TYPE = { 'content-type': 'application/json' };

describe('validator redirects are never followed', () => {
  /** The validator: redirects on its validation path, says 200 anywhere else. */
  let seed: SeedEndpoint;
  /** Another server, the target of absolute redirects: says 200 to everything. */
  let elsewhere: SeedEndpoint;
  /** An RFC 7662 validator that always answers 307/308 to its POST. */
  let introspection: SeedEndpoint;
  const targetHits: string[] = [];
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    const sayYes = (req: IncomingMessage): ScriptedAnswer => {
      targetHits.push(`${req.method} ${req.url}`);
      return { status: 200, headers: JSON_TYPE, body: USER };
    };
    elsewhere = await startSeedEndpoint({ script: (_token, req) => sayYes(req) });
    seed = await startSeedEndpoint({
      script: (token, req) => {
        if (!req.url!.startsWith('/uat/se/storel/GetUserDetails')) return sayYes(req);
        const match = /^redirect-(\d{3})-(relative|absolute)-/.exec(token);
        if (match === null) return undefined;
        const location = match[2] === 'relative' ? '/uat/se/storel/Elsewhere' : `${elsewhere.url}/GetUserDetails`;
        // The redirect answer itself even carries a user-info body: it must not count either.
        return { status: Number(match[1]), headers: { ...JSON_TYPE, location }, body: USER };
      },
    });
    introspection = await startSeedEndpoint({
      script: (_token, req) => {
        if (req.url !== '/introspect') return sayYes(req);
        return { status: 307, headers: { location: `${elsewhere.url}/introspect` }, body: '' };
      },
    });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: {
        main: { url: seed.validationUrl, timeoutMs: 200 },
        rfc: { url: `${introspection.url}/introspect`, style: 'rfc7662', timeoutMs: 200, clientAuth: { method: 'client_secret_basic', clientId: 'gw', clientSecret: 's3cret' } },
      },
      routes: [
        { path: '/api', upstream: backend.url, validator: 'main' },
        { path: '/rfc', upstream: backend.url, validator: 'rfc' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), elsewhere.close(), introspection.close(), backend.close()]);
  });

  test('control: the redirect targets do say 200 when asked directly', async () => {
    const direct = await fetch(`${seed.url}/uat/se/storel/Elsewhere`);
    assert.equal(direct.status, 200);
    await direct.text();
    assert.deepEqual(targetHits, ['GET /uat/se/storel/Elsewhere']);
    targetHits.length = 0;
  });

  for (const status of [300, 301, 302, 303, 307, 308]) {
    for (const kind of ['relative', 'absolute'] as const) {
      test(`validator answers ${status} with a ${kind} Location: 401 InvalidTokenError, target and backend never called`, async () => {
        const token = `redirect-${status}-${kind}-token`;
        const res = await fetch(`${gw.url}/api`, { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' });
        await assertGatewayError(res, 401, 'InvalidTokenError');
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tokengate", error="invalid_token"');
        assert.equal(res.headers.get('location'), null, 'the validator\'s Location is not relayed');
        assert.equal(seed.calls.get(token), 1, 'the validator was asked once');
        assert.deepEqual(targetHits, [], 'the redirect target was never called');
        assert.equal(elsewhere.totalCalls(), 0);
        assert.equal(backend.received.length, 0, 'the backend was never called');
      });
    }
  }

  test('RFC 7662 validator answering 307 to its POST: 401, the form (with the token) is not re-posted elsewhere', async () => {
    const res = await fetch(`${gw.url}/rfc`, { headers: { authorization: 'Bearer rfc-redirect-token' }, redirect: 'manual' });
    await assertGatewayError(res, 401, 'InvalidTokenError');
    assert.equal(introspection.totalCalls(), 1);
    assert.deepEqual(targetHits, []);
    assert.equal(elsewhere.totalCalls(), 0);
    assert.equal(backend.received.length, 0);
  });
});
