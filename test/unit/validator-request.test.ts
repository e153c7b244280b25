/** Asking the validator: the exact request each style and client-auth method sends (RFC 7662 §2.1, RFC 6749 §2.3.1). */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { buildConfig } from '../../src/config/load.js';
import { ASSERTION_LIFETIME_SECONDS, signClientAssertion } from '../../src/validators/client-assertion.js';
import { buildValidatorRequest } from '../../src/validators/request.js';

/** The value of a header in a flat `[name, value, …]` list, or undefined. */
function headerOf(request: { headers: readonly string[] }, name: string): string | undefined {
  for (let i = 0; i < request.headers.length; i += 2) if (request.headers[i] === name) return request.headers[i + 1];
  return undefined;
}

function validator(v: Record<string, unknown>) {
  return buildConfig({ validators: { v }, routes: [{ path: '/', upstream: 'http://127.0.0.1:1' }] }, {}).validators.get('v')!;
}

describe('buildValidatorRequest', () => {
  test('bearer (the seed): GET, the caller token as Bearer, query merged into the URL, extra headers', () => {
    const v = validator({ url: 'https://acme.example/uat/GetUserDetails?x=1', query: { api_key: 'k y' }, headers: { 'X-Tenant': 'acme' } });
    const r = buildValidatorRequest(v, 'tok.en-1');
    assert.equal(r.method, 'GET');
    assert.equal(r.path, '/uat/GetUserDetails?x=1&api_key=k+y');
    assert.equal(headerOf(r, 'authorization'), 'Bearer tok.en-1');
    assert.equal(headerOf(r, 'x-tenant'), 'acme');
    assert.equal(r.body, null);
    assert.equal(v.origin, 'https://acme.example');
  });

  test('rfc7662 + client_secret_basic: POST form, Basic of the form-encoded id and secret', () => {
    const v = validator({ url: 'https://as.example/introspect', style: 'rfc7662', clientAuth: { method: 'client_secret_basic', clientId: 'gw client', clientSecret: 's:e&c' } });
    const r = buildValidatorRequest(v, 'a+b/c=');
    assert.equal(r.method, 'POST');
    assert.equal(headerOf(r, 'content-type'), 'application/x-www-form-urlencoded');
    assert.equal(headerOf(r, 'authorization'), `Basic ${Buffer.from('gw+client:s%3Ae%26c').toString('base64')}`);
    assert.equal(r.body, 'token=a%2Bb%2Fc%3D&token_type_hint=access_token');
  });

  test('rfc7662 + client_secret_post: credentials in the form, no Authorization', () => {
    const v = validator({ url: 'https://as.example/introspect', style: 'rfc7662', clientAuth: { method: 'client_secret_post', clientId: 'gw', clientSecret: 's e' } });
    const r = buildValidatorRequest(v, 't');
    assert.equal(headerOf(r, 'authorization'), undefined);
    assert.equal(r.body, 'token=t&token_type_hint=access_token&client_id=gw&client_secret=s+e');
  });

  test('rfc7662 + bearer: the gateway own token in Authorization, never the caller token', () => {
    const v = validator({ url: 'https://as.example/introspect', style: 'rfc7662', clientAuth: { method: 'bearer', token: 'gw-token' } });
    const r = buildValidatorRequest(v, 'caller');
    assert.equal(headerOf(r, 'authorization'), 'Bearer gw-token');
    assert.equal(r.body, 'token=caller&token_type_hint=access_token');
  });

  test('rfc7662 + none: only client_id when given', () => {
    const withId = buildValidatorRequest(validator({ url: 'https://as.example/i', style: 'rfc7662', clientAuth: { method: 'none', clientId: 'pub' } }), 't');
    assert.equal(withId.body, 'token=t&token_type_hint=access_token&client_id=pub');
    assert.equal(headerOf(withId, 'authorization'), undefined);
    const bare = buildValidatorRequest(validator({ url: 'https://as.example/i', style: 'rfc7662' }), 't');
    assert.equal(bare.body, 'token=t&token_type_hint=access_token');
  });
});

describe('buildValidatorRequest: SPEC 7.4 dialects', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-request-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ecKey = join(dir, 'ec.pem');
  writeFileSync(ecKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const edKey = join(dir, 'ed.pem');
  writeFileSync(edKey, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));

  test('private_key_jwt: client_assertion_type prepared, the call\'s assertion appended, no client_id, no Authorization', () => {
    const v = validator({ url: 'https://as.example/introspect', style: 'rfc7662', clientAuth: { method: 'private_key_jwt', clientId: 'gw', privateKey: ecKey } });
    const r = buildValidatorRequest(v, 't', 'aaa.bbb.ccc');
    assert.equal(r.body, 'token=t&token_type_hint=access_token&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=aaa.bbb.ccc');
    assert.equal(headerOf(r, 'authorization'), undefined);
    assert.equal(v.clientAssertion?.alg, 'ES256', 'the algorithm of a P-256 key');
  });

  test('private_key_jwt: the assertion (RFC 7523 section 3): iss = sub = clientId, aud the endpoint without query, fresh jti, exp a minute after iat', async () => {
    const v = validator({ url: 'https://as.example/oauth2/introspect?x=1', query: { tenant: 'a' }, style: 'rfc7662', clientAuth: { method: 'private_key_jwt', clientId: 'gw', privateKey: edKey, kid: 'k1' } });
    const now = 1_700_000_000;
    const [a, b] = await Promise.all([signClientAssertion(v.clientAssertion!, now), signClientAssertion(v.clientAssertion!, now)]);
    assert.deepEqual(decodeProtectedHeader(a), { alg: 'EdDSA', typ: 'JWT', kid: 'k1' });
    const claims = decodeJwt(a);
    assert.deepEqual({ ...claims, jti: undefined }, { iss: 'gw', sub: 'gw', aud: 'https://as.example/oauth2/introspect', iat: now, exp: now + ASSERTION_LIFETIME_SECONDS, jti: undefined });
    assert.ok(ASSERTION_LIFETIME_SECONDS <= 300);
    assert.notEqual(claims.jti, decodeJwt(b).jti);
  });

  test('Accept: JSON by default, XML with format xml, the RFC 9701 media type with accept jwt', () => {
    assert.equal(headerOf(buildValidatorRequest(validator({ url: 'https://as.example/u', format: 'xml' }), 't'), 'accept'), 'application/xml, text/xml;q=0.9, */*;q=0.5');
    const jwt = validator({ url: 'https://as.example/i', style: 'rfc7662', accept: 'jwt', jwksUrl: 'https://as.example/jwks', requireIssuer: 'https://as.example', clientAuth: { method: 'client_secret_basic', clientId: 'gw', clientSecret: 's' } });
    const r = buildValidatorRequest(jwt, 't');
    assert.equal(headerOf(r, 'accept'), 'application/token-introspection+jwt');
    assert.equal(r.body, 'token=t&token_type_hint=access_token');
  });

  test('through a proxy: the Host header is prepared (undici\'s proxy agent would otherwise add it to the shared headers)', () => {
    const v = validator({ url: 'https://as.example:8443/i', style: 'rfc7662', proxy: 'http://proxy.internal:3128' });
    assert.equal(headerOf(buildValidatorRequest(v, 't'), 'host'), 'as.example:8443');
    assert.ok(Object.isFrozen(buildValidatorRequest(v, 't').headers));
  });
});
