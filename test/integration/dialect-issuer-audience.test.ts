/**
 * SPEC 7.4 `requireIssuer` / `requireAudience` on any answer: the answer's `iss` must equal the
 * first, its `aud` be the second or an array holding it; missing or different is 401 InvalidToken
 * (its own stored reason, cached negatively); right is 200. For plain JSON answers (the seed's
 * style and RFC 7662) and for XML answers alike.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorOf, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';

const ISS = 'https://as.example/realms/corp';
const AUD = 'orders-api';

/** token -> the JSON answer's iss/aud members (undefined: left out). */
const JSON_CASES: Record<string, { iss?: unknown; aud?: unknown; expected: 200 | 'token_issuer_mismatch' | 'token_audience_mismatch' }> = {
  right: { iss: ISS, aud: AUD, expected: 200 },
  audArray: { iss: ISS, aud: ['other-api', AUD], expected: 200 },
  noIss: { aud: AUD, expected: 'token_issuer_mismatch' },
  otherIss: { iss: 'https://evil.example', aud: AUD, expected: 'token_issuer_mismatch' },
  issWithSlash: { iss: `${ISS}/`, aud: AUD, expected: 'token_issuer_mismatch' },
  issArray: { iss: [ISS], aud: AUD, expected: 'token_issuer_mismatch' },
  noAud: { iss: ISS, expected: 'token_audience_mismatch' },
  otherAud: { iss: ISS, aud: 'billing-api', expected: 'token_audience_mismatch' },
  audArrayWithout: { iss: ISS, aud: ['billing-api', 'orders'], expected: 'token_audience_mismatch' },
  audCase: { iss: ISS, aud: 'Orders-API', expected: 'token_audience_mismatch' },
};

const XML_CASES: Record<string, { body: string; expected: 200 | 'token_issuer_mismatch' | 'token_audience_mismatch' }> = {
  xmlRight: { body: `<user><iss>${ISS}</iss><aud>other-api</aud><aud>${AUD}</aud><uid>u</uid></user>`, expected: 200 },
  xmlNoIss: { body: `<user><aud>${AUD}</aud></user>`, expected: 'token_issuer_mismatch' },
  xmlOtherAud: { body: `<user><iss>${ISS}</iss><aud>billing-api</aud></user>`, expected: 'token_audience_mismatch' },
};

describe('requireIssuer and requireAudience (SPEC 7.4)', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    seed = await startSeedEndpoint({
      script: (token) => {
        // The token names the case; "issOnly-" tokens are the same cases for the other validator.
        const key = token.replace(/^issOnly-/, '');
        if (key in JSON_CASES) {
          const { iss, aud } = JSON_CASES[key];
          return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ active: true, sub: 's-1', ...(iss === undefined ? {} : { iss }), ...(aud === undefined ? {} : { aud }) }) };
        }
        if (key in XML_CASES) return { status: 200, headers: { 'content-type': 'application/xml' }, body: XML_CASES[key].body };
        return { status: 401, body: '' };
      },
    });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: {
        both: { url: seed.validationUrl, requireIssuer: ISS, requireAudience: AUD },
        issOnly: { url: seed.validationUrl, requireIssuer: ISS },
        plain: { url: seed.validationUrl },
      },
      routes: [
        { path: '/both', upstream: backend.url, validator: 'both', identityHeaders: { 'X-Subject': 'sub' } },
        { path: '/iss-only', upstream: backend.url, validator: 'issOnly' },
        { path: '/plain', upstream: backend.url, validator: 'plain' },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([seed?.close(), backend?.close()]);
  });

  async function call(path: string, token: string): Promise<{ status: number; reason: unknown; type: string | null }> {
    const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.text();
    return { status: res.status, reason: gw.logs.requests().at(-1)!.reason, type: res.status === 200 ? null : errorOf(body).type };
  }

  for (const [token, { expected }] of [...Object.entries(JSON_CASES), ...Object.entries(XML_CASES)]) {
    test(`${token}: ${expected}`, async () => {
      const first = await call('/both', token);
      if (expected === 200) {
        assert.equal(first.status, 200);
        return;
      }
      assert.deepEqual(first, { status: 401, reason: expected, type: 'InvalidTokenError' });
      // Judged: cached negatively, the validator asked once.
      assert.equal((await call('/both', token)).status, 401);
      assert.equal(seed.calls.get(token), 1);
    });
  }

  test('requireIssuer alone: the audience is not looked at', async () => {
    assert.equal((await call('/iss-only', 'issOnly-noAud')).status, 200);
    assert.equal((await call('/iss-only', 'issOnly-otherAud')).status, 200);
    assert.equal((await call('/iss-only', 'issOnly-otherIss')).reason, 'token_issuer_mismatch');
  });

  test('neither configured: nothing is checked (the seed behaviour)', async () => {
    assert.equal((await call('/plain', 'noIss')).status, 200);
  });
});

describe('requireIssuer and requireAudience with style rfc7662', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  before(async () => {
    seed = await startSeedEndpoint({
      path: '/introspect',
      script: (_token, req) => {
        // The form body is not read by the seed fixture; the answer depends on a header instead.
        const key = String(req.headers['x-case'] ?? '');
        const c = JSON_CASES[key];
        return c === undefined ? { status: 400 } : { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ active: true, ...(c.iss === undefined ? {} : { iss: c.iss }), ...(c.aud === undefined ? {} : { aud: c.aud }) }) };
      },
    });
    backend = await startSampleBackend();
    const validator = (name: string) => ({ url: `${seed.url}/introspect`, style: 'rfc7662', headers: { 'X-Case': name }, requireIssuer: ISS, requireAudience: AUD });
    gw = await startTestGateway({
      validators: { right: validator('right'), otherAud: validator('otherAud'), noIss: validator('noIss') },
      routes: ['right', 'otherAud', 'noIss'].map((name) => ({ path: `/${name}`, upstream: backend.url, validator: name })),
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([seed?.close(), backend?.close()]);
  });

  test('right: 200; another audience or no issuer: 401 with its reason', async () => {
    const right = await fetch(`${gw.url}/right`, { headers: { authorization: 'Bearer t-1' } });
    assert.equal(right.status, 200);
    for (const [path, reason] of [['/otherAud', 'token_audience_mismatch'], ['/noIss', 'token_issuer_mismatch']] as const) {
      const res = await fetch(`${gw.url}${path}`, { headers: { authorization: 'Bearer t-1' } });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tokengate", error="invalid_token"');
      await res.arrayBuffer();
      assert.equal(gw.logs.requests().at(-1)!.reason, reason);
    }
  });
});
