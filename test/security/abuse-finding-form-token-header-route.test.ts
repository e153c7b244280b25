/**
 * Finding (token confusion, SPEC section 4 deviation): SPEC section 4 answers "token where tokenFrom
 * does not allow it" with 400 invalid_request, and the gateway does so for a query token on a
 * header-only route; but a form-body `access_token` on a header-only route (the default) is never
 * looked at. With `Authorization: Bearer <own valid token>` and a body `access_token=<another>`, the
 * request is allowed and the backend receives both tokens: one the gateway validated, and one it
 * never saw. A backend that reads the body token (RFC 6750 section 2.2, PHP/Rails params, Spring
 * with allowFormEncodedBodyParameter) acts for a token that nobody validated. Without a header, the
 * form token gets 401 MissingTokenError rather than the 400 the table says.
 *
 * Fixed when: a form POST carrying access_token on a route whose tokenFrom excludes form is a 400
 * (like the query), or the parameter is removed before forwarding. Fixed: these tests passed once the fix landed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorOf, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { hostOf } from './support.js';

const MINE = 'form-confusion-own-token';

describe('finding: a form token on a header-only route is forwarded, not refused', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  before(async () => {
    seed = await startSeedEndpoint({ users: new Map([[MINE, { uid: 'me' }]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({ validators: { v: { url: seed.validationUrl } }, routes: [{ path: '/api', upstream: backend.url }] });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });
  const host = () => `host: ${hostOf(gw.url)}`;

  test('control: a query token on the same route is a 400', async () => {
    const res = await rawRequest(gw.url, `GET /api/q?access_token=someone-elses HTTP/1.1\r\n${host()}\r\nauthorization: Bearer ${MINE}`);
    assert.equal(res.status, 400);
  });

  test('header token + form access_token: 400 InvalidRequestError, nothing forwarded', async () => {
    const before = backend.received.length;
    const res = await rawRequest(gw.url, `POST /api/f HTTP/1.1\r\n${host()}\r\nauthorization: Bearer ${MINE}\r\ncontent-type: application/x-www-form-urlencoded`, 'access_token=someone-elses&x=1');
    assert.equal(res.status, 400, `got ${res.status}; the backend received ${JSON.stringify(backend.received.at(-1)?.body.toString())}`);
    assert.equal(errorOf(res.body).type, 'InvalidRequestError');
    assert.equal(backend.received.length, before);
  });

  test('form access_token alone: 400 InvalidRequestError (not 401 MissingTokenError)', async () => {
    const res = await rawRequest(gw.url, `POST /api/g HTTP/1.1\r\n${host()}\r\ncontent-type: application/x-www-form-urlencoded`, `access_token=${MINE}`);
    assert.equal(res.status, 400);
  });
});
