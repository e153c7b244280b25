/**
 * SPEC 7.4, `clientAuth: { method: private_key_jwt }` (RFC 7523 §2.2): against oidc-provider, which
 * refuses a replayed `jti`, two calls in a row both pass (a fresh assertion per call); against a
 * recording endpoint, the exact form and assertion: `iss` = `sub` = clientId, `aud` = the endpoint
 * URL, a new UUID `jti` each call, `iat` now and `exp` a minute later (at most 5 minutes), signed
 * with the configured key; the key is checked against `alg` when the configuration is loaded.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { buildConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { headerBytes, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { JWT_BEARER_ASSERTION_TYPE, makeSigningKey, type TestSigningKey } from '../fixtures/jwt-introspection.js';
import { startOidcDialects, type OidcDialectsServer } from '../fixtures/oidc-dialects.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';

describe('private_key_jwt (RFC 7523)', () => {
  let dir: string;
  let as: OidcDialectsServer;
  let backend: SampleBackend;
  let gw: TestGateway;
  let recorder: Server;
  let recorderUrl: string;
  const recorded: { headers: IncomingHttpHeaders; form: URLSearchParams }[] = [];
  let rsa: TestSigningKey;
  let keyFile: string;
  let rsaFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tokengate-pkjwt-'));
    [as, backend, rsa] = await Promise.all([startOidcDialects(), startSampleBackend(), makeSigningKey('RS256')]);
    keyFile = join(dir, 'gw-key.pem');
    rsaFile = join(dir, 'rsa-key.pem');
    await writeFile(keyFile, as.clients.privateKeyJwt.key.privateKeyPem, { mode: 0o600 });
    await writeFile(rsaFile, rsa.privateKeyPem, { mode: 0o600 });

    recorder = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        recorded.push({ headers: req.headers, form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"active":true,"sub":"s-1"}');
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}/oauth2/introspect`;

    const pkjwt = as.clients.privateKeyJwt;
    gw = await startTestGateway({
      validators: {
        // Caching off: every request is a call, and so a new assertion.
        oidc: {
          url: as.introspectionUrl,
          style: 'rfc7662',
          clientAuth: { method: 'private_key_jwt', clientId: pkjwt.clientId, privateKey: keyFile, alg: 'ES256' },
          cache: { ttlSeconds: 0, negativeTtlSeconds: 0 },
        },
        recorded: {
          url: `${recorderUrl}?tenant=acme`,
          style: 'rfc7662',
          clientAuth: { method: 'private_key_jwt', clientId: 'gw client', privateKey: keyFile, kid: 'gw-key-1' },
          cache: { ttlSeconds: 0, negativeTtlSeconds: 0 },
        },
        rsaRecorded: {
          url: recorderUrl,
          style: 'rfc7662',
          clientAuth: { method: 'private_key_jwt', clientId: 'gw', privateKey: rsaFile, alg: 'PS256', audience: 'https://as.example/realms/corp' },
          cache: { ttlSeconds: 0, negativeTtlSeconds: 0 },
        },
      },
      routes: [
        { path: '/orders', upstream: backend.url, validator: 'oidc', requiredScopes: ['orders:read'], identityHeaders: { 'X-Client-Id': 'client_id', 'X-Scope': 'scope' } },
        { path: '/recorded', upstream: backend.url, validator: 'recorded', identityHeaders: { 'X-Subject': 'sub' } },
        { path: '/rsa', upstream: backend.url, validator: 'rsaRecorded' },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([as?.close(), backend?.close(), new Promise<void>((resolve) => (recorder === undefined ? resolve() : recorder.close(() => resolve())))]);
    await rm(dir, { recursive: true, force: true });
  });

  test('oidc-provider: two calls in a row with the same token both pass (a fresh jti each time)', async () => {
    const token = await as.mintToken('orders:read profile');
    for (let round = 0; round < 3; round++) {
      const res = await fetch(`${gw.url}/orders`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, `round ${round}: ${await res.text()}`);
      const got = backend.received.at(-1)!;
      assert.deepEqual(headerBytes(got.rawHeaders, 'x-client-id'), [Buffer.from(as.clients.minter.clientId)]);
      assert.deepEqual(headerBytes(got.rawHeaders, 'x-scope'), [Buffer.from('orders:read profile')]);
    }
  });

  test('oidc-provider: an unknown token is 401 (the client authenticated, the token is not active)', async () => {
    const res = await fetch(`${gw.url}/orders`, { headers: { authorization: 'Bearer not-a-token-of-this-as' } });
    assert.equal(res.status, 401);
  });

  test('the exact form and assertion, against a recording endpoint', async () => {
    recorded.length = 0;
    const started = Math.floor(Date.now() / 1000);
    for (const token of ['tok-1', 'tok-1']) {
      const res = await fetch(`${gw.url}/recorded`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    assert.equal(recorded.length, 2);
    const jtis = new Set<string>();
    for (const { headers, form } of recorded) {
      assert.deepEqual([...form.keys()], ['token', 'token_type_hint', 'client_assertion_type', 'client_assertion']);
      assert.equal(form.get('token'), 'tok-1');
      assert.equal(form.get('client_assertion_type'), JWT_BEARER_ASSERTION_TYPE);
      assert.equal(headers.authorization, undefined, 'no other client authentication');
      const assertion = form.get('client_assertion')!;
      assert.deepEqual(decodeProtectedHeader(assertion), { alg: 'ES256', typ: 'JWT', kid: 'gw-key-1' });
      const { payload } = await jwtVerify(assertion, as.clients.privateKeyJwt.key.publicKey, { algorithms: ['ES256'] });
      assert.deepEqual(Object.keys(payload).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'sub']);
      assert.equal(payload.iss, 'gw client');
      assert.equal(payload.sub, 'gw client');
      assert.equal(payload.aud, recorderUrl, 'the endpoint URL, without the configured query');
      assert.match(payload.jti!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      jtis.add(payload.jti!);
      assert.ok(payload.iat! >= started - 1 && payload.iat! <= Math.floor(Date.now() / 1000) + 1, `iat ${payload.iat} is now`);
      assert.equal(payload.exp! - payload.iat!, 60);
      assert.ok(payload.exp! - payload.iat! <= 300, 'at most 5 minutes ahead');
    }
    assert.equal(jtis.size, 2, 'a fresh jti on every call');
  });

  test('RSA key with PS256 and a configured audience', async () => {
    recorded.length = 0;
    const res = await fetch(`${gw.url}/rsa`, { headers: { authorization: 'Bearer tok-2' } });
    assert.equal(res.status, 200);
    const assertion = recorded[0].form.get('client_assertion')!;
    assert.deepEqual(decodeProtectedHeader(assertion), { alg: 'PS256', typ: 'JWT' });
    const { payload } = await jwtVerify(assertion, createPublicKey(rsa.publicKeyPem), { algorithms: ['PS256'], audience: 'https://as.example/realms/corp', issuer: 'gw', subject: 'gw' });
    assert.equal(payload.exp! - payload.iat!, 60);
  });

  describe('the key is checked when the configuration is loaded', () => {
    function problems(clientAuth: Record<string, unknown>): string[] {
      try {
        buildConfig({ validators: { v: { url: 'https://as.example/introspect', style: 'rfc7662', clientAuth: { method: 'private_key_jwt', clientId: 'gw', ...clientAuth } } }, routes: [{ path: '/', upstream: 'http://127.0.0.1:1' }] }, {});
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error.problems.map((p) => `${p.path}: ${p.message}`);
      }
      return [];
    }

    test('a good key, alg given or inferred: no problem', () => {
      assert.deepEqual(problems({ privateKey: keyFile, alg: 'ES256' }), []);
      assert.deepEqual(problems({ privateKey: keyFile }), []);
      assert.deepEqual(problems({ privateKey: rsaFile, alg: 'RS256' }), []);
    });

    test('a missing file, a public key, an alg the key cannot sign with', async () => {
      const missing = join(dir, 'missing.pem');
      assert.deepEqual(problems({ privateKey: missing }), [`validators.v.clientAuth.privateKey: cannot read ${missing} (ENOENT)`]);
      const publicFile = join(dir, 'public.pem');
      await writeFile(publicFile, as.clients.privateKeyJwt.key.publicKeyPem);
      assert.match(problems({ privateKey: publicFile })[0], /^validators\.v\.clientAuth\.privateKey: .*public\.pem is not an unencrypted PEM private key/);
      assert.deepEqual(problems({ privateKey: keyFile, alg: 'RS256' }), ['validators.v.clientAuth.alg: RS256 needs an RSA private key; this one is an ec prime256v1 key']);
      assert.deepEqual(problems({ privateKey: keyFile, alg: 'ES384' }), ['validators.v.clientAuth.alg: ES384 needs an EC secp384r1 private key; this one is an ec prime256v1 key']);
      assert.deepEqual(problems({ privateKey: rsaFile, alg: 'EdDSA' }), ['validators.v.clientAuth.alg: EdDSA needs an Ed25519 private key; this one is an rsa key']);
    });

    test('privateKey is required, and alg is not a symmetric or "none" algorithm', () => {
      assert.deepEqual(problems({}), ['validators.v.clientAuth.privateKey: is required with private_key_jwt (a PEM file path)']);
      assert.match(problems({ privateKey: keyFile, alg: 'HS256' })[0], /^validators\.v\.clientAuth\.alg: must be one of ES256, /);
      assert.match(problems({ privateKey: keyFile, alg: 'none' })[0], /^validators\.v\.clientAuth\.alg: must be one of /);
    });
  });
});
