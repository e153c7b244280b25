/**
 * Regression for "Keep the door shut" finding 2: a 200 `{"active":false}` labelled `text/json` or
 * `text/plain`, or with a UTF-8 byte-order mark and no content type, reached the backend; a BOM
 * with `application/json` and `active: true` was refused as unreadable. JSON is now recognised by
 * reading the body, not by its label, so an `active` member is never skipped. And for
 * `style: rfc7662` a 200 that is not a JSON object with `active: true` (a login page, `{}`) is
 * invalid (RFC 7662 §2.2).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type ScriptedAnswer, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { assertGatewayError } from './support.js';

const BOM = '\ufeff';

describe('an inactive answer is read whatever its label (regression: finding 2)', () => {
  let validator: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  const answers = new Map<string, ScriptedAnswer>();

  before(async () => {
    validator = await startSeedEndpoint({ script: (token, req) => answers.get(token) ?? answers.get(new URL(req.url!, 'http://x').pathname) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: {
        seed: { url: validator.validationUrl, cache: { ttlSeconds: 0, negativeTtlSeconds: 0 } },
        introspection: { url: `${validator.url}/introspect`, style: 'rfc7662', clientAuth: { method: 'none' }, cache: { ttlSeconds: 0, negativeTtlSeconds: 0 } },
      },
      routes: [
        { path: '/api', upstream: backend.url, validator: 'seed' },
        { path: '/corp', upstream: backend.url, validator: 'introspection' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([validator.close(), backend.close()]);
  });

  const call = (path: string, token: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  const inactive: [string, ScriptedAnswer][] = [
    ['text/json', { status: 200, headers: { 'content-type': 'text/json' }, body: '{"active":false}' }],
    ['text/plain', { status: 200, headers: { 'content-type': 'text/plain' }, body: '{"active":false,"uid":"u"}' }],
    ['text/html', { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '{"active":false}' }],
    ['a BOM and no content type', { status: 200, body: `${BOM}{"active":false}` }],
    ['a BOM with application/json', { status: 200, headers: { 'content-type': 'application/json' }, body: `${BOM}{"active":false}` }],
  ];
  for (const [label, answer] of inactive) {
    test(`200 {"active":false} as ${label}: 401, the backend never sees it`, async () => {
      const token = `inactive-${label.replace(/\W+/g, '-')}`;
      answers.set(token, answer);
      const before = backend.received.length;
      await assertGatewayError(await call('/api/x', token), 401, 'InvalidTokenError');
      assert.equal(backend.received.length, before);
    });
  }

  test('200 {"active":true} with a BOM and application/json: valid, the backend gets the call', async () => {
    answers.set('bom-active', { status: 200, headers: { 'content-type': 'application/json' }, body: `${BOM}{"active":true,"uid":"u"}` });
    const res = await call('/api/x', 'bom-active');
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });

  for (const [label, answer] of [
    ['an HTML login page', { status: 200, headers: { 'content-type': 'text/html' }, body: '<!doctype html><form action="/login">Sign in</form>' }],
    ['{}', { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' }],
    ['an empty 200', { status: 200, body: '' }],
  ] as const) {
    test(`style rfc7662: ${label} is invalid (401), never a pass`, async () => {
      answers.set('/introspect', answer);
      const before = backend.received.length;
      await assertGatewayError(await call('/corp/x', 'any-token'), 401, 'InvalidTokenError');
      assert.equal(backend.received.length, before);
    });
  }
});
