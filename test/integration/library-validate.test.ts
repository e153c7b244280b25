/**
 * SPEC 7.3, the library: `createTokenValidator` + `validate` against real validators (the seed's
 * endpoint, and a real RFC 7662 server), nothing of tokengate's own mocked. The decision object for
 * every situation of SPEC section 4, the claims and identity as the gateway would send them, the
 * cache and single flight of SPEC section 6, the per-client limit of section 8, option errors.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { buildConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { createTokenValidator, type TokenDecision, type TokenValidator } from '../../src/library/index.js';
import { PolicyBook } from '../../src/library/options.js';
import { startAuthorizationServer, type AuthorizationServer } from '../fixtures/authorization-server.js';
import { freePort } from '../fixtures/ports.js';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';

const GOOD = 'lib-good-token';
const TWICE = 'lib-twice-token';
const CONCURRENT = 'lib-concurrent-token';
const FORGER = 'lib-forger-token';
const USER = { ...SEED_USER_INFO, scope: 'orders:read profile' };
const utf8Bytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

function denied(d: TokenDecision) {
  assert.equal(d.allowed, false);
  if (d.allowed) throw new Error('unreachable');
  assert.equal(d.claims, null);
  assert.deepEqual(d.identity, {});
  assert.equal(d.response.status, d.status);
  assert.equal(d.response.headers['content-length'], String(Buffer.byteLength(d.response.body)));
  return { ...d.response, error: (JSON.parse(d.response.body) as { errors: { type: string; message: string }[] }).errors[0] };
}

describe('createTokenValidator and validate (SPEC 7.3)', () => {
  let seed: SeedEndpoint;
  let tg: TokenValidator;
  const logged: Record<string, unknown>[] = [];
  const logSink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });

  before(async () => {
    seed = await startSeedEndpoint({
      apiKey: 'k3y',
      users: new Map<string, unknown>([[GOOD, USER], [TWICE, USER], [FORGER, { uid: 'u1', bio: 'one\r\nX-Admin: yes' }]]),
      script: (token) => (token === CONCURRENT ? { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(USER), delayMs: 100 } : undefined),
    });
    tg = await createTokenValidator({
      validators: {
        seed: { url: seed.validationUrl, query: { api_key: 'k3y' } },
        down: { url: `http://127.0.0.1:${await freePort()}/introspect`, timeoutMs: 500 },
      },
      server: { invalidTokenRate: { perMinute: 2 } },
    }, { logger: pino(logSink) });
  });
  after(async () => {
    await tg.close();
    await seed.close();
  });

  test('allowed: 200, no reason, no response, the 200 body as claims with öhlundi intact', async () => {
    const d = await tg.validate(GOOD, { validator: 'seed', requiredScopes: ['orders:read'] });
    assert.equal(d.allowed, true);
    assert.equal(d.status, 200);
    assert.equal(d.reason, null);
    assert.equal(d.response, null);
    assert.deepEqual(d.claims, USER);
    assert.equal(d.claims?.lastName, 'öhlundi');
    assert.equal(d.claims, d.claims, 'parsed once, then the same object');
  });

  test('identity, utf8: lower-case names, the raw UTF-8 bytes the gateway sends, a missing path left out', async () => {
    const d = await tg.validate(GOOD, {
      validator: 'seed',
      identityHeaders: { 'X-User-Id': 'uid', 'X-User-Last-Name': '$.lastName', 'X-Account-Names': '$.accounts[*].name', 'X-Nothing': '$.nope' },
    });
    assert.deepEqual(d.identity, { 'x-user-id': 'abcd23456', 'x-user-last-name': utf8Bytes('öhlundi'), 'x-account-names': utf8Bytes('Adam Phils,Duffy woöf') });
    assert.equal(Buffer.from(d.identity['x-user-last-name'], 'latin1').toString('utf8'), 'öhlundi');
  });

  test('identity, percent: RFC 3986, upper-case hex, each value encoded then joined', async () => {
    const d = await tg.validate(GOOD, { validator: 'seed', identityEncoding: 'percent', identityHeaders: { 'X-User-Last-Name': 'lastName', 'X-Account-Names': '$.accounts[*].name' } });
    assert.deepEqual(d.identity, { 'x-user-last-name': '%C3%B6hlundi', 'x-account-names': 'Adam%20Phils,Duffy%20wo%C3%B6f' });
  });

  test('identity: a value with CR or LF is never given (SPEC section 5), and the given logger says so', async () => {
    const d = await tg.validate(FORGER, { validator: 'seed', identityHeaders: { 'X-User-Id': 'uid', 'X-Bio': 'bio' } });
    assert.deepEqual(d.identity, { 'x-user-id': 'u1' });
    assert.ok(logged.some((line) => line.msg === 'identity header dropped' && line.header === 'X-Bio' && line.reason === 'control_character' && line.validator === 'seed'));
  });

  test('no token (null): 401 MissingTokenError, a challenge without an error code', async () => {
    const d = await tg.validate(null, { validator: 'seed' });
    assert.equal(d.status, 401);
    assert.equal(d.reason, 'missing_token');
    const answer = denied(d);
    assert.deepEqual(answer.headers, { ...JSON_HEADERS, 'content-length': answer.headers['content-length'], 'www-authenticate': 'Bearer realm="tokengate"' });
    assert.deepEqual(answer.error, { type: 'MissingTokenError', message: 'An access token is required.' });
  });

  test('invalid token: 401 InvalidTokenError with error="invalid_token", the validator body (which repeats the token) not passed on', async () => {
    const d = await tg.validate('lib-unknown-token', { validator: 'seed' });
    assert.equal(d.status, 401);
    assert.equal(d.reason, 'validator_rejected');
    const answer = denied(d);
    assert.equal(answer.headers['www-authenticate'], 'Bearer realm="tokengate", error="invalid_token"');
    assert.equal(answer.error.type, 'InvalidTokenError');
    assert.ok(!answer.body.includes('lib-unknown-token'));
  });

  test('not a bearer token: 400 invalid_request, no validator call', async () => {
    const calls = seed.totalCalls();
    const d = await tg.validate('two words', { validator: 'seed' });
    assert.equal(d.status, 400);
    assert.equal(d.reason, 'malformed_authorization');
    assert.equal(denied(d).headers['www-authenticate'], 'Bearer realm="tokengate", error="invalid_request"');
    assert.equal(seed.totalCalls(), calls);
  });

  test('insufficient scope: 403 with every required scope in the challenge (RFC 6750 §3.1)', async () => {
    const d = await tg.validate(GOOD, { validator: 'seed', requiredScopes: ['orders:read', 'orders:write'] });
    assert.equal(d.status, 403);
    assert.equal(d.reason, 'insufficient_scope');
    const answer = denied(d);
    assert.equal(answer.headers['www-authenticate'], 'Bearer realm="tokengate", error="insufficient_scope", scope="orders:read orders:write"');
    assert.deepEqual(answer.error, { type: 'InsufficientScopeError', message: 'The access token lacks a scope this route requires.' });
  });

  test('validator down: 503 ValidationUnavailableError with Retry-After, no challenge', async () => {
    const d = await tg.validate(GOOD, { validator: 'down' });
    assert.equal(d.status, 503);
    assert.equal(d.reason, 'validator_unreachable');
    const answer = denied(d);
    assert.deepEqual(answer.headers, { ...JSON_HEADERS, 'content-length': answer.headers['content-length'], 'retry-after': '5' });
    assert.equal(answer.error.type, 'ValidationUnavailableError');
  });

  test('the cache: two validates of one token make one validator call', async () => {
    assert.equal((await tg.validate(TWICE, { validator: 'seed' })).allowed, true);
    assert.equal((await tg.validate(TWICE, { validator: 'seed', requiredScopes: ['profile'] })).allowed, true);
    assert.equal(seed.calls.get(TWICE), 1);
  });

  test('single flight: concurrent validates of one new token make one validator call', async () => {
    const decisions = await Promise.all(Array.from({ length: 20 }, () => tg.validate(CONCURRENT, { validator: 'seed' })));
    assert.ok(decisions.every((d) => d.allowed));
    assert.equal(seed.calls.get(CONCURRENT), 1);
  });

  test('client: invalidTokenRate counts per client (an IPv6 /64 is one client); without one, no per-client limit', async () => {
    const client = '2001:db8:1:2::7';
    for (let i = 0; i < 3; i++) assert.equal((await tg.validate(`lib-fishing-${i}`, { validator: 'seed', client })).status, 401);
    const refused = await tg.validate('lib-fishing-3', { validator: 'seed', client: '2001:db8:1:2::99' });
    assert.equal(refused.status, 429);
    assert.equal(refused.reason, 'invalid_token_rate_exceeded');
    assert.equal(denied(refused).headers['retry-after'], '60');
    assert.equal((await tg.validate('lib-fishing-4', { validator: 'seed', client: '192.0.2.1' })).status, 401);
    assert.equal((await tg.validate('lib-fishing-5', { validator: 'seed' })).status, 401);
  });

  test('options that name nothing real are refused with a clear error', async () => {
    await assert.rejects(tg.validate(GOOD, { validator: 'nope' }), { name: 'TypeError', message: 'tokengate: no validator is called "nope"; configured: seed, down' });
    await assert.rejects(tg.validate(GOOD), /the validator option is required when more than one validator is configured \(seed, down\)/);
    await assert.rejects(tg.validate(GOOD, { validator: 'seed', requiredScopes: ['a b'] }), /requiredScopes\[0\] "a b" is not a scope token/);
    await assert.rejects(tg.validate(GOOD, { validator: 'seed', identityHeaders: { 'X-Id': '$[' } }), /identityHeaders\.X-Id is not a valid RFC 9535 JSONPath/);
    await assert.rejects(tg.validate(GOOD, { validator: 'seed', identityHeaders: { Authorization: 'uid' } }), /identityHeaders\.Authorization is a header tokengate or the backend relies on/);
  });
});

describe('options are compiled once per distinct set', () => {
  const book = new PolicyBook(buildConfig({ validators: { a: { url: 'http://127.0.0.1:9/a' }, b: { url: 'http://127.0.0.1:9/b' } } }, {}, 'library'));

  test('the same object, or the same options written again inline, give the same compiled policy; the client is not part of it', () => {
    const options = { validator: 'a', requiredScopes: ['x', 'y'], identityHeaders: { 'X-Id': 'sub' } };
    assert.equal(book.policyFor(options), book.policyFor(options));
    assert.equal(book.policyFor({ ...options }), book.policyFor(options));
    assert.equal(book.policyFor({ ...options, client: '192.0.2.1' } as typeof options), book.policyFor(options));
    assert.notEqual(book.policyFor({ ...options, validator: 'b' }), book.policyFor(options));
    assert.notEqual(book.policyFor({ ...options, requiredScopes: ['y', 'x'] }), book.policyFor(options), 'scope order is the challenge\'s order');
  });
});

describe('createTokenValidator: configuration and lifecycle', () => {
  test('a bad configuration is a ConfigError naming each key path, as `tokengate check` does', async () => {
    const error = await createTokenValidator({ validators: { v: { url: 'ftp://example.com', colour: 'blue' } } }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      [...error.problems].sort((a, b) => a.path.localeCompare(b.path)),
      [{ path: 'validators.v.colour', message: 'unknown key' }, { path: 'validators.v.url', message: 'must be an http or https URL' }],
    );
  });

  test('after close, validate rejects', async () => {
    const tg = await createTokenValidator({ validators: { only: { url: 'http://127.0.0.1:9/x' } } });
    await tg.close();
    await tg.close();
    await assert.rejects(tg.validate('t'), /closed/);
  });
});

describe('validate against a real RFC 7662 server (oidc-provider)', () => {
  let as: AuthorizationServer;
  let tg: TokenValidator;

  before(async () => {
    as = await startAuthorizationServer();
    tg = await createTokenValidator({
      validators: { corp: { url: as.introspectionUrl, style: 'rfc7662', clientAuth: { method: 'client_secret_basic', ...as.client } } },
    });
  });
  after(async () => {
    await tg.close();
    await as.close();
  });

  test('an issued token: allowed, the introspection answer as claims, identity from it', async () => {
    const token = await as.mintToken('orders:read profile');
    const d = await tg.validate(token, { requiredScopes: ['orders:read'], identityHeaders: { 'X-Client-Id': 'client_id', 'X-Scopes': 'scope' } });
    assert.equal(d.allowed, true);
    assert.equal(d.claims?.active, true);
    assert.deepEqual(d.identity, { 'x-client-id': as.client.clientId, 'x-scopes': 'orders:read profile' });
    const more = await tg.validate(token, { requiredScopes: ['orders:write'] });
    assert.equal(more.status, 403);
    assert.equal(more.response?.headers['www-authenticate'], 'Bearer realm="tokengate", error="insufficient_scope", scope="orders:write"');
  });

  test('a token the server does not know (200 {"active":false}): 401 token_inactive', async () => {
    const d = await tg.validate('never-issued-by-this-server');
    assert.equal(d.status, 401);
    assert.equal(d.reason, 'token_inactive');
    assert.equal(d.claims, null);
  });
});
