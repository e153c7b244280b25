/**
 * SPEC 7.4 / RFC 9701, `accept: jwt`: the gateway asks for `application/token-introspection+jwt`,
 * verifies the signed answer against `jwksUrl`, and judges its `token_introspection` claim as a JSON
 * answer (active, scope, identity headers). Against oidc-provider (a secret client and a
 * private_key_jwt one) good answers pass; against the jwt-introspection fixtures `alg: none`, HMAC
 * with the public key, a foreign key, a wrong `typ`, `aud` or `iss`, and an unsigned JSON answer are
 * 503 (never valid, never cached); an unknown `kid` makes the gateway fetch the JWKS again, at most
 * once per cooldown; keys that cannot be fetched are 503 too.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { buildConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { errorOf, headerBytes, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import {
  algConfusionIntrospection,
  foreignKeyIntrospection,
  INTROSPECTION_JWT_MEDIA_TYPE,
  makeSigningKey,
  makeSigningKeys,
  signIntrospection,
  startJwksServer,
  unsignedIntrospection,
  wrongTypIntrospection,
  type JwksServer,
  type TestSigningKey,
} from '../fixtures/jwt-introspection.js';
import { startOidcDialects, type OidcDialectsServer } from '../fixtures/oidc-dialects.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';

describe('RFC 9701 JWT answers from oidc-provider', () => {
  let as: OidcDialectsServer;
  let backend: SampleBackend;
  let gw: TestGateway;
  let dir: string;

  before(async () => {
    [as, backend, dir] = await Promise.all([startOidcDialects(), startSampleBackend(), mkdtemp(join(tmpdir(), 'tokengate-jwt-'))]);
    const keyFile = join(dir, 'combined.pem');
    await writeFile(keyFile, as.clients.combined.key.privateKeyPem, { mode: 0o600 });
    const signed = { style: 'rfc7662', accept: 'jwt', jwksUrl: as.jwksUrl, requireIssuer: as.issuer, url: as.introspectionUrl };
    gw = await startTestGateway({
      validators: {
        secret: { ...signed, clientAuth: { method: 'client_secret_basic', clientId: as.clients.jwtResponse.clientId, clientSecret: as.clients.jwtResponse.clientSecret } },
        combined: { ...signed, clientAuth: { method: 'private_key_jwt', clientId: as.clients.combined.clientId, privateKey: keyFile }, cache: { ttlSeconds: 0, negativeTtlSeconds: 0 } },
      },
      routes: [
        { path: '/secret', upstream: backend.url, validator: 'secret', requiredScopes: ['orders:read'], identityHeaders: { 'X-Client-Id': 'client_id', 'X-Scope': 'scope', 'X-Issuer': 'iss' } },
        { path: '/combined', upstream: backend.url, validator: 'combined', identityHeaders: { 'X-Client-Id': 'client_id' } },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([as?.close(), backend?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  test('a signed answer passes; the identity comes from token_introspection', async () => {
    const token = await as.mintToken('orders:read profile');
    const res = await fetch(`${gw.url}/secret`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, await res.text());
    const got = backend.received.at(-1)!;
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-client-id'), [Buffer.from(as.clients.minter.clientId)]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-scope'), [Buffer.from('orders:read profile')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-issuer'), [Buffer.from(as.issuer)]);
  });

  test('a missing scope in the signed answer: 403', async () => {
    const token = await as.mintToken('profile');
    const res = await fetch(`${gw.url}/secret`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 403);
  });

  test('an unknown token: a signed {active:false}, 401', async () => {
    const res = await fetch(`${gw.url}/secret`, { headers: { authorization: 'Bearer no-such-token' } });
    assert.equal(res.status, 401);
    assert.equal(gw.logs.requests().at(-1)!.reason, 'token_inactive');
  });

  test('private_key_jwt and a JWT answer together, twice in a row', async () => {
    const token = await as.mintToken('orders:read');
    for (let round = 0; round < 2; round++) {
      const res = await fetch(`${gw.url}/combined`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, await res.text());
    }
  });
});

describe('RFC 9701 JWT answers: the bad ones are refused', () => {
  const iss = 'https://as.example';
  const aud = 'orders-api';
  let keys: { es256: TestSigningKey; rs256: TestSigningKey };
  let jwks: JwksServer;
  let validator: Server;
  let backend: SampleBackend;
  let gw: TestGateway;
  /** token -> [content type, body] the validator answers with. */
  const answers = new Map<string, [string, string]>();
  const calls = new Map<string, number>();
  const accepts: string[] = [];
  const claims = (extra: Record<string, unknown> = {}) => ({ active: true, scope: 'orders:read', sub: 's-1', username: 'öhlundi', exp: Math.floor(Date.now() / 1000) + 600, ...extra });

  before(async () => {
    keys = await makeSigningKeys();
    jwks = await startJwksServer({ keys: [keys.es256.publicJwk, keys.rs256.publicJwk] });
    backend = await startSampleBackend();
    validator = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        accepts.push(req.headers.accept ?? '');
        const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('token') ?? '';
        calls.set(token, (calls.get(token) ?? 0) + 1);
        const answer = answers.get(token);
        if (answer === undefined) return res.writeHead(400).end();
        res.writeHead(200, { 'content-type': answer[0] }).end(answer[1]);
      });
    });
    await new Promise<void>((resolve) => validator.listen(0, '127.0.0.1', resolve));
    gw = await startTestGateway({
      validators: {
        v: {
          url: `http://127.0.0.1:${(validator.address() as AddressInfo).port}/introspect`,
          style: 'rfc7662',
          clientAuth: { method: 'client_secret_basic', clientId: aud, clientSecret: 's3cret' },
          accept: 'jwt',
          jwksUrl: jwks.url,
          requireIssuer: iss,
          jwksCooldownSeconds: 1,
          circuitBreaker: { failures: 0 },
        },
      },
      routes: [{ path: '/orders', upstream: backend.url, identityHeaders: { 'X-User': 'username', 'X-Subject': 'sub' } }],
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([jwks?.close(), backend?.close(), new Promise<void>((resolve) => (validator === undefined ? resolve() : validator.close(() => resolve())))]);
  });

  let n = 0;
  async function ask(jwt: string, contentType = INTROSPECTION_JWT_MEDIA_TYPE): Promise<{ status: number; reason: unknown; token: string }> {
    const token = `jwt-answer-${n++}`;
    answers.set(token, [contentType, jwt]);
    const res = await fetch(`${gw.url}/orders`, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.text();
    if (res.status === 503) assert.equal(errorOf(body).type, 'ValidationUnavailableError');
    return { status: res.status, reason: gw.logs.requests().at(-1)!.reason, token };
  }

  for (const alg of ['es256', 'rs256'] as const) {
    test(`a good ${alg.toUpperCase()} answer: 200, identity from token_introspection, Accept asked for a JWT`, async () => {
      const { status } = await ask(await signIntrospection({ key: keys[alg], iss, aud, claims: claims() }));
      assert.equal(status, 200);
      assert.deepEqual(headerBytes(backend.received.at(-1)!.rawHeaders, 'x-user'), [Buffer.from('öhlundi')]);
      assert.equal(accepts.at(-1), INTROSPECTION_JWT_MEDIA_TYPE);
    });
  }

  test('a good answer with active false: 401, cached negatively', async () => {
    const jwt = await signIntrospection({ key: keys.es256, iss, aud, claims: { active: false } });
    const first = await ask(jwt);
    assert.equal(first.status, 401);
    assert.equal(first.reason, 'token_inactive');
    const again = await fetch(`${gw.url}/orders`, { headers: { authorization: `Bearer ${first.token}` } });
    assert.equal(again.status, 401);
    assert.equal(calls.get(first.token), 1);
  });

  const bad: Array<[name: string, make: () => Promise<string> | string]> = [
    ['alg: none', () => unsignedIntrospection({ iss, aud, claims: claims(), kid: keys.es256.kid })],
    ['HS256 keyed with the RSA public key PEM (alg confusion)', () => algConfusionIntrospection({ publicKeyOf: keys.rs256, iss, aud, claims: claims() })],
    ['HS256 keyed with the EC public JWK (alg confusion)', () => algConfusionIntrospection({ publicKeyOf: keys.es256, secret: 'jwk', iss, aud, claims: claims() })],
    ['a foreign key with a known kid', () => foreignKeyIntrospection({ kid: keys.es256.kid, iss, aud, claims: claims() })],
    ['typ: JWT', () => wrongTypIntrospection({ key: keys.es256, iss, aud, claims: claims() })],
    ['no typ', () => wrongTypIntrospection({ key: keys.es256, iss, aud, claims: claims(), typ: null })],
    ['aud of another client', () => signIntrospection({ key: keys.es256, iss, aud: 'other-api', claims: claims() })],
    ['iss of another server', () => signIntrospection({ key: keys.es256, iss: 'https://evil.example', aud, claims: claims() })],
  ];
  for (const [name, make] of bad) {
    test(`${name}: 503 validator_answer_unverified, never cached, nothing reaches the backend`, async () => {
      const before = backend.received.length;
      const { status, reason, token } = await ask(await make());
      assert.equal(status, 503);
      assert.equal(reason, 'validator_answer_unverified');
      const again = await fetch(`${gw.url}/orders`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(again.status, 503);
      assert.equal(calls.get(token), 2, 'an unavailable answer is never cached');
      assert.equal(backend.received.length, before);
    });
  }

  test('an unsigned JSON answer, though a JWT was asked for: 503', async () => {
    const { status, reason } = await ask(JSON.stringify(claims()), 'application/json');
    assert.equal(status, 503);
    assert.equal(reason, 'validator_answer_unverified');
  });

  test('a signed answer without token_introspection: 503', async () => {
    const jwt = await new SignJWT({ iss, aud }).setProtectedHeader({ alg: 'ES256', kid: keys.es256.kid, typ: 'token-introspection+jwt' }).setIssuedAt().sign(keys.es256.privateKey);
    const { status, reason } = await ask(jwt);
    assert.equal(status, 503);
    assert.equal(reason, 'validator_bad_answer');
  });

  test('an unknown kid fetches the JWKS again, at most once per cooldown; a rotated-in key then verifies', async () => {
    await sleep(1100); // past the cooldown of the last fetch
    const stranger = await makeSigningKey('ES256', { kid: 'not-published' });
    let fetches = jwks.fetches;
    assert.equal((await ask(await signIntrospection({ key: stranger, iss, aud, claims: claims() }))).status, 503);
    assert.equal(jwks.fetches, fetches + 1, 'an unknown kid made the gateway fetch the keys again');
    fetches = jwks.fetches;
    assert.equal((await ask(await signIntrospection({ key: stranger, iss, aud, claims: claims() }))).status, 503);
    assert.equal(jwks.fetches, fetches, 'not again within the cooldown');

    const rotated = await makeSigningKey('ES256', { kid: 'rotated-in' });
    jwks.setKeys([keys.es256.publicJwk, keys.rs256.publicJwk, rotated.publicJwk]);
    await sleep(1100);
    const result = await ask(await signIntrospection({ key: rotated, iss, aud, claims: claims() }));
    assert.equal(result.status, 200);
    assert.equal(jwks.fetches, fetches + 1);
    // The known keys still verify without another fetch.
    assert.equal((await ask(await signIntrospection({ key: keys.rs256, iss, aud, claims: claims() }))).status, 200);
    assert.equal(jwks.fetches, fetches + 1);
  });

  test('keys that cannot be fetched: 503 validator_keys_unavailable', async () => {
    await sleep(1100);
    jwks.failWith(500);
    try {
      const newcomer = await makeSigningKey('ES256', { kid: 'needs-a-fetch' });
      const { status, reason } = await ask(await signIntrospection({ key: newcomer, iss, aud, claims: claims() }));
      assert.equal(status, 503);
      assert.equal(reason, 'validator_keys_unavailable');
    } finally {
      jwks.failWith(undefined);
    }
  });
});

describe('accept: jwt configuration', () => {
  function problems(v: Record<string, unknown>): string[] {
    try {
      buildConfig({ validators: { v: { url: 'https://as.example/introspect', style: 'rfc7662', ...v } }, routes: [{ path: '/', upstream: 'http://127.0.0.1:1' }] }, {});
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.problems.map((p) => `${p.path}: ${p.message}`);
    }
    return [];
  }

  test('jwksUrl, requireIssuer and the client id (the answer\'s aud) are required', () => {
    assert.deepEqual(problems({ accept: 'jwt' }), [
      'validators.v.jwksUrl: is required with accept: jwt: the keys that sign the answers',
      "validators.v.requireIssuer: is required with accept: jwt: the answer's iss is checked against it (RFC 9701 section 5)",
      "validators.v.clientAuth.clientId: is required with accept: jwt: the answer's aud must name the gateway's client (RFC 9701 section 5)",
    ]);
  });

  test('style bearer, format xml, jwksUrl without accept jwt', () => {
    const full = { jwksUrl: 'https://as.example/jwks', requireIssuer: 'https://as.example', clientAuth: { method: 'client_secret_basic', clientId: 'gw', clientSecret: 's' } };
    assert.deepEqual(problems({ ...full, accept: 'jwt' }), []);
    assert.ok(problems({ ...full, accept: 'jwt', style: 'bearer', clientAuth: undefined }).includes('validators.v.accept: jwt needs style rfc7662 (RFC 9701 signs introspection answers)'));
    assert.ok(problems({ ...full, accept: 'jwt', format: 'xml' }).some((p) => p.startsWith('validators.v.format: cannot be xml')));
    assert.deepEqual(problems({ jwksUrl: 'https://as.example/jwks' }), ['validators.v.jwksUrl: is only used with accept: jwt']);
  });
});
