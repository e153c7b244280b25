/**
 * The SPEC §7.4 dialects fixture works against the real oidc-provider: private_key_jwt at the
 * introspection endpoint (RFC 7523; which `aud` it accepts, jti replay refused) and RFC 9701 JWT
 * answers verified with jose against the provider's JWKS. Also checks that the bad JWTs of
 * test/fixtures/jwt-introspection.ts really are refused by a strict verifier.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import {
  algConfusionIntrospection,
  foreignKeyIntrospection,
  INTROSPECTION_JWT_MEDIA_TYPE,
  INTROSPECTION_JWT_TYP,
  JWT_BEARER_ASSERTION_TYPE,
  makeSigningKeys,
  signClientAssertion,
  signIntrospection,
  startJwksServer,
  unsignedIntrospection,
  wrongTypIntrospection,
  type JwksServer,
  type TestSigningKey,
} from '../fixtures/jwt-introspection.js';
import { startOidcDialects, type KeyClient, type OidcDialectsServer } from '../fixtures/oidc-dialects.js';

const FORM = 'application/x-www-form-urlencoded';

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

async function post(url: string, headers: Record<string, string>, form: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': FORM, ...headers },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

describe('oidc-dialects fixture', () => {
  let as: OidcDialectsServer;
  let token: string;

  before(async () => {
    as = await startOidcDialects();
    token = await as.mintToken('orders:read profile');
  });
  after(() => as?.close());

  function introspectWithKey(client: KeyClient, assertion: string, accept = 'application/json'): Promise<Answer> {
    return post(
      as.introspectionUrl,
      { accept },
      {
        token,
        token_type_hint: 'access_token',
        client_id: client.clientId,
        client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
        client_assertion: assertion,
      },
    );
  }

  function assertion(client: KeyClient, audience: string | string[], jti?: string): Promise<string> {
    return signClientAssertion({
      key: client.key,
      clientId: client.clientId,
      audience,
      lifetimeSeconds: 300, // ≤ 5 min
      ...(jti !== undefined ? { jti } : {}),
    });
  }

  describe('private_key_jwt at the introspection endpoint', () => {
    test('introspects a minted token, twice in a row (a fresh jti each time)', async () => {
      const client = as.clients.privateKeyJwt;
      for (let round = 0; round < 2; round++) {
        const answer = await introspectWithKey(client, await assertion(client, as.introspectionUrl));
        assert.equal(answer.status, 200, answer.text);
        assert.match(answer.contentType, /^application\/json/u);
        const body = JSON.parse(answer.text) as Record<string, unknown>;
        assert.equal(body['active'], true);
        assert.equal(body['scope'], 'orders:read profile');
        assert.equal(body['client_id'], as.clients.minter.clientId);
        assert.equal(body['iss'], as.issuer);
        assert.equal(typeof body['exp'], 'number');
      }
    });

    test('a replayed assertion (same jti) is refused: 401 invalid_client', async () => {
      const client = as.clients.privateKeyJwt;
      const once = await assertion(client, as.introspectionUrl);
      assert.equal((await introspectWithKey(client, once)).status, 200);
      const replay = await introspectWithKey(client, once);
      assert.equal(replay.status, 401);
      assert.equal((JSON.parse(replay.text) as { error: string }).error, 'invalid_client');
      // A new assertion reusing only the jti is a replay too (oidc-provider keys on iss + jti).
      const sameJti = await assertion(client, as.introspectionUrl, 'fixed-jti-1');
      assert.equal((await introspectWithKey(client, sameJti)).status, 200);
      assert.equal((await introspectWithKey(client, await assertion(client, as.issuer, 'fixed-jti-1'))).status, 401);
    });

    const audiences: Array<[name: string, audience: (s: OidcDialectsServer) => string | string[], status: number]> = [
      ['the introspection endpoint URL', (s) => s.introspectionUrl, 200],
      ['the issuer identifier', (s) => s.issuer, 200],
      ['the token endpoint URL', (s) => s.tokenUrl, 200],
      ['an array containing the issuer', (s) => ['urn:other', s.issuer], 200],
      ['another URL', (s) => `${s.issuer}/elsewhere`, 401],
      ['the issuer with a trailing slash', (s) => `${s.issuer}/`, 401],
    ];
    for (const [name, audience, status] of audiences) {
      test(`aud = ${name}: ${status}`, async () => {
        const client = as.clients.privateKeyJwt;
        const answer = await introspectWithKey(client, await assertion(client, audience(as)));
        assert.equal(answer.status, status, answer.text);
      });
    }

    test('an assertion signed by another key (same kid) is refused', async () => {
      const client = as.clients.privateKeyJwt;
      const impostor: KeyClient = { clientId: client.clientId, key: { ...as.clients.combined.key, kid: client.key.kid } };
      assert.equal((await introspectWithKey(client, await assertion(impostor, as.issuer))).status, 401);
    });
  });

  describe('JWT introspection answers (RFC 9701)', () => {
    async function verify(jwt: string, audience: string): Promise<JWTPayload> {
      const { payload, protectedHeader } = await jwtVerify(jwt, createRemoteJWKSet(new URL(as.jwksUrl)), {
        issuer: as.issuer,
        audience,
        typ: INTROSPECTION_JWT_TYP,
        algorithms: ['ES256', 'RS256'],
      });
      assert.equal(protectedHeader.typ, INTROSPECTION_JWT_TYP);
      return payload;
    }

    test('Accept: application/token-introspection+jwt gets a signed JWT that verifies against the JWKS', async () => {
      const client = as.clients.jwtResponse;
      const answer = await post(as.introspectionUrl, { authorization: client.basicAuth, accept: INTROSPECTION_JWT_MEDIA_TYPE }, { token });
      assert.equal(answer.status, 200, answer.text);
      assert.match(answer.contentType, /^application\/token-introspection\+jwt/u);
      assert.equal(decodeProtectedHeader(answer.text).alg, 'ES256'); // the client's introspection_signed_response_alg
      const payload = await verify(answer.text, client.clientId);
      const inner = payload['token_introspection'] as Record<string, unknown>;
      assert.equal(inner['active'], true);
      assert.equal(inner['scope'], 'orders:read profile');
      assert.equal(inner['iss'], as.issuer);
      assert.equal(typeof payload.iat, 'number');
    });

    test('the same client without that Accept gets plain JSON', async () => {
      for (const accept of ['application/json', '*/*', 'application/jwt']) {
        const answer = await post(as.introspectionUrl, { authorization: as.clients.jwtResponse.basicAuth, accept }, { token });
        assert.match(answer.contentType, /^application\/json/u, accept);
        assert.equal((JSON.parse(answer.text) as { active: boolean }).active, true);
      }
    });

    test('an unknown token is a signed {active:false}', async () => {
      const client = as.clients.jwtResponse;
      const answer = await post(as.introspectionUrl, { authorization: client.basicAuth, accept: INTROSPECTION_JWT_MEDIA_TYPE }, { token: 'not-a-token' });
      assert.equal(answer.status, 200);
      assert.deepEqual((await verify(answer.text, client.clientId))['token_introspection'], { active: false });
    });

    test('private_key_jwt and a JWT answer together', async () => {
      const client = as.clients.combined;
      const answer = await introspectWithKey(client, await assertion(client, as.introspectionUrl), INTROSPECTION_JWT_MEDIA_TYPE);
      assert.equal(answer.status, 200, answer.text);
      const payload = await verify(answer.text, client.clientId);
      assert.equal((payload['token_introspection'] as { active: boolean }).active, true);
    });

    test('a client with no alg registered still gets a JWT when it asks (oidc-provider default RS256)', async () => {
      const answer = await post(
        as.introspectionUrl,
        { authorization: as.clients.minter.basicAuth, accept: INTROSPECTION_JWT_MEDIA_TYPE },
        { token },
      );
      assert.equal(decodeProtectedHeader(answer.text).alg, 'RS256');
      await verify(answer.text, as.clients.minter.clientId);
    });
  });
});

describe('jwt-introspection fixture: the bad variants fail a strict verifier', () => {
  let keys: { es256: TestSigningKey; rs256: TestSigningKey };
  let jwks: JwksServer;
  const iss = 'https://as.example';
  const aud = 'orders-api';
  const claims = { active: true, scope: 'orders:read', exp: Math.floor(Date.now() / 1000) + 600 };

  before(async () => {
    keys = await makeSigningKeys();
    jwks = await startJwksServer({ keys: [keys.es256.publicJwk, keys.rs256.publicJwk] });
  });
  after(() => jwks?.close());

  async function strictVerify(jwt: string): Promise<JWTPayload> {
    const set = createLocalJWKSet((await (await fetch(jwks.url)).json()) as { keys: [] });
    const { payload } = await jwtVerify(jwt, set, { issuer: iss, audience: aud, typ: INTROSPECTION_JWT_TYP, algorithms: ['ES256', 'RS256'] });
    return payload;
  }

  for (const alg of ['es256', 'rs256'] as const) {
    test(`a good ${alg} answer verifies (and the JWKS fetch is counted)`, async () => {
      const before = jwks.fetches;
      const payload = await strictVerify(await signIntrospection({ key: keys[alg], iss, aud, claims }));
      assert.deepEqual(payload['token_introspection'], claims);
      assert.equal(jwks.fetches, before + 1);
    });
  }

  const bad: Array<[name: string, make: () => Promise<string> | string]> = [
    ['alg: none', () => unsignedIntrospection({ iss, aud, claims, kid: keys.es256.kid })],
    ['HS256 with the RSA public key PEM (alg confusion)', () => algConfusionIntrospection({ publicKeyOf: keys.rs256, iss, aud, claims })],
    ['HS256 with the EC public JWK (alg confusion)', () => algConfusionIntrospection({ publicKeyOf: keys.es256, secret: 'jwk', iss, aud, claims })],
    ['a foreign key with the same kid', () => foreignKeyIntrospection({ kid: keys.es256.kid, iss, aud, claims })],
    ['typ: JWT', () => wrongTypIntrospection({ key: keys.es256, iss, aud, claims })],
    ['no typ', () => wrongTypIntrospection({ key: keys.es256, iss, aud, claims, typ: null })],
    ['wrong issuer', () => signIntrospection({ key: keys.es256, iss: 'https://evil.example', aud, claims })],
    ['wrong audience', () => signIntrospection({ key: keys.es256, iss, aud: 'other-api', claims })],
  ];
  for (const [name, make] of bad) {
    test(`refused: ${name}`, async () => {
      await assert.rejects(strictVerify(await make()));
    });
  }
});
