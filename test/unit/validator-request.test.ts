/** Asking the validator: the exact request each style and client-auth method sends (RFC 7662 §2.1, RFC 6749 §2.3.1). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { buildValidatorRequest } from '../../src/validators/request.js';

function validator(v: Record<string, unknown>) {
  return buildConfig({ validators: { v }, routes: [{ path: '/', upstream: 'http://127.0.0.1:1' }] }, {}).validators.get('v')!;
}

describe('buildValidatorRequest', () => {
  test('bearer (the seed): GET, the caller token as Bearer, query merged into the URL, extra headers', () => {
    const v = validator({ url: 'https://acme.example/uat/GetUserDetails?x=1', query: { api_key: 'k y' }, headers: { 'X-Tenant': 'acme' } });
    const r = buildValidatorRequest(v, 'tok.en-1');
    assert.equal(r.method, 'GET');
    assert.equal(r.path, '/uat/GetUserDetails?x=1&api_key=k+y');
    assert.equal(r.headers.authorization, 'Bearer tok.en-1');
    assert.equal(r.headers['x-tenant'], 'acme');
    assert.equal(r.body, null);
    assert.equal(v.origin, 'https://acme.example');
  });

  test('rfc7662 + client_secret_basic: POST form, Basic of the form-encoded id and secret', () => {
    const v = validator({ url: 'https://as.example/introspect', style: 'rfc7662', clientAuth: { method: 'client_secret_basic', clientId: 'gw client', clientSecret: 's:e&c' } });
    const r = buildValidatorRequest(v, 'a+b/c=');
    assert.equal(r.method, 'POST');
    assert.equal(r.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(r.headers.authorization, `Basic ${Buffer.from('gw+client:s%3Ae%26c').toString('base64')}`);
    assert.equal(r.body, 'token=a%2Bb%2Fc%3D&token_type_hint=access_token');
  });

  test('rfc7662 + client_secret_post: credentials in the form, no Authorization', () => {
    const v = validator({ url: 'https://as.example/introspect', style: 'rfc7662', clientAuth: { method: 'client_secret_post', clientId: 'gw', clientSecret: 's e' } });
    const r = buildValidatorRequest(v, 't');
    assert.equal(r.headers.authorization, undefined);
    assert.equal(r.body, 'token=t&token_type_hint=access_token&client_id=gw&client_secret=s+e');
  });

  test('rfc7662 + bearer: the gateway own token in Authorization, never the caller token', () => {
    const v = validator({ url: 'https://as.example/introspect', style: 'rfc7662', clientAuth: { method: 'bearer', token: 'gw-token' } });
    const r = buildValidatorRequest(v, 'caller');
    assert.equal(r.headers.authorization, 'Bearer gw-token');
    assert.equal(r.body, 'token=caller&token_type_hint=access_token');
  });

  test('rfc7662 + none: only client_id when given', () => {
    const withId = buildValidatorRequest(validator({ url: 'https://as.example/i', style: 'rfc7662', clientAuth: { method: 'none', clientId: 'pub' } }), 't');
    assert.equal(withId.body, 'token=t&token_type_hint=access_token&client_id=pub');
    assert.equal(withId.headers.authorization, undefined);
    const bare = buildValidatorRequest(validator({ url: 'https://as.example/i', style: 'rfc7662' }), 't');
    assert.equal(bare.body, 'token=t&token_type_hint=access_token');
  });
});
