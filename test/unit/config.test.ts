/**
 * Configuration (SPEC section 3): schema, defaults, `${NAME}` substitution, cross-key rules, and
 * every problem reported with the key path it concerns, all at once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { GatewayConfig } from '../../src/config/compile.js';
import { buildConfig, loadConfigFile, parseConfigText } from '../../src/config/load.js';
import { ConfigError, formatPath, formatProblem, type Problem } from '../../src/config/problems.js';

const MINIMAL = {
  validators: { v: { url: 'https://as.example/check' } },
  routes: [{ path: '/orders', upstream: 'http://127.0.0.1:3000' }],
};

/** A deep copy of MINIMAL with `patch` applied by the caller. */
function minimal(): { validators: Record<string, Record<string, unknown>>; routes: Record<string, unknown>[]; [key: string]: unknown } {
  return structuredClone(MINIMAL);
}

/** The problems `buildConfig` reports for `document`; fails the test when it compiles. */
function problemsOf(document: unknown, env: NodeJS.ProcessEnv = {}): readonly Problem[] {
  try {
    buildConfig(document, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected the configuration to be refused');
}

function paths(document: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  return problemsOf(document, env).map((p) => p.path);
}

function hasProblem(document: unknown, path: string, message?: RegExp | string, env: NodeJS.ProcessEnv = {}): void {
  const problems = problemsOf(document, env);
  const found = problems.filter((p) => p.path === path);
  assert.ok(found.length > 0, `no problem at ${path}; got ${JSON.stringify(problems)}`);
  if (typeof message === 'string') assert.ok(found.some((p) => p.message === message), `at ${path}: ${JSON.stringify(found)}`);
  else if (message !== undefined) assert.ok(found.some((p) => message.test(p.message)), `at ${path}: ${JSON.stringify(found)}`);
}

describe('buildConfig: a minimal valid configuration', () => {
  let config: GatewayConfig;
  before(() => {
    config = buildConfig(minimal(), {});
  });

  test('is frozen all the way to routes and validators', () => {
    assert.equal(Object.isFrozen(config), true);
    assert.equal(Object.isFrozen(config.routes), true);
    assert.equal(Object.isFrozen(config.routes[0]), true);
    assert.equal(Object.isFrozen(config.routeGroups), true);
    assert.equal(Object.isFrozen(config.validators.get('v')), true);
    assert.equal(Object.isFrozen(config.validators.get('v')!.headers), true);
    assert.equal(Object.isFrozen(config.server), true);
  });

  test('server, admin and realm defaults', () => {
    assert.deepEqual(config.server, {
      host: '0.0.0.0',
      port: 8080,
      headersTimeoutSeconds: 30,
      requestTimeoutSeconds: 300,
      keepAliveTimeoutSeconds: 5,
      maxConnections: 10_000,
      maxConnectionsPerClient: 1_000,
      maxTokenBytes: 8_192,
      maxIdentityValueBytes: 4_096,
      invalidTokensPerMinute: null,
      trustedProxies: [],
      clientLimits: { validatorCallsInFlight: 32, validatorCallsPerSecond: 100 },
    });
    assert.equal(config.admin, null);
    assert.equal(config.realm, 'tokengate');
  });

  test('validator defaults (style bearer)', () => {
    const v = config.validators.get('v')!;
    assert.equal(v.name, 'v');
    assert.equal(v.style, 'bearer');
    assert.equal(v.method, 'GET');
    assert.equal(v.origin, 'https://as.example');
    assert.equal(v.path, '/check');
    assert.deepEqual(v.cache, { ttlSeconds: 30, negativeTtlSeconds: 5, maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 });
    assert.equal(v.timeoutMs, 2000);
    assert.equal(v.requireActive, 'auto');
    assert.equal(v.onUnavailable, 'deny');
    assert.equal(v.staleIfErrorSeconds, 300);
    assert.equal(v.clockSkewSeconds, 30);
    assert.equal(v.formSuffix, '');
    assert.equal(v.headers.authorization, undefined);
  });

  test('route defaults', () => {
    const r = config.routes[0];
    assert.equal(r.index, 0);
    assert.equal(r.path, '/orders');
    assert.equal(r.methods, null);
    assert.deepEqual(r.upstream, { origin: 'http://127.0.0.1:3000', basePath: '' });
    assert.equal(r.auth, 'required');
    assert.deepEqual(r.tokenFrom, { header: true, form: false, query: false });
    assert.deepEqual(r.requiredScopes, []);
    assert.equal(r.identity.encoding, 'utf8');
    assert.deepEqual(r.identity.headers, []);
    assert.equal(r.forwardAuthorization, true);
    assert.equal(r.upstreamTimeoutMs, 30_000);
    assert.equal(r.validator?.kind, 'fixed');
    assert.equal(r.validator?.kind === 'fixed' ? r.validator.validator : undefined, config.validators.get('v'));
  });

  test('style rfc7662 defaults to POST with a form content type', () => {
    const doc = minimal();
    doc.validators.v = { url: 'https://as.example/introspect', style: 'rfc7662' };
    const v = buildConfig(doc, {}).validators.get('v')!;
    assert.equal(v.method, 'POST');
    assert.equal(v.headers['content-type'], 'application/x-www-form-urlencoded');
  });

  test('validator query is merged into the path', () => {
    const doc = minimal();
    doc.validators.v = { url: 'https://as.example/check?x=1', query: { api_key: 'k 1' } };
    assert.equal(buildConfig(doc, {}).validators.get('v')!.path, '/check?x=1&api_key=k+1');
  });

  test('client_secret_basic form-encodes then base64-encodes id and secret (RFC 6749 §2.3.1)', () => {
    const doc = minimal();
    doc.validators.v = { url: 'https://as.example/i', style: 'rfc7662', clientAuth: { method: 'client_secret_basic', clientId: 'g w', clientSecret: 's:é' } };
    const auth = buildConfig(doc, {}).validators.get('v')!.headers.authorization;
    assert.equal(Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString(), 'g+w:s%3A%C3%A9');
  });

  test('non-object documents are refused', () => {
    for (const doc of [null, 'x', 42, []]) {
      assert.deepEqual(paths(doc), ['(top level)']);
    }
  });

  test('routes are required', () => {
    hasProblem({ validators: MINIMAL.validators }, 'routes');
    hasProblem({ validators: MINIMAL.validators, routes: [] }, 'routes', 'must list at least one route (or configure validationEndpoint)');
  });

  test('a route without upstream is a decision-only route, valid only with forwardAuth', () => {
    hasProblem({ validators: MINIMAL.validators, routes: [{ path: '/a' }] }, 'routes[0].upstream', /is required/);
    const config = buildConfig({ validators: MINIMAL.validators, forwardAuth: { path: '/_tokengate/auth' }, routes: [{ path: '/a' }] }, {});
    assert.equal(config.routes[0].upstream, null);
    assert.deepEqual(config.forwardAuth, { path: '/_tokengate/auth' });
  });

  test('the seed endpoint alone needs no route, keeps its validator\'s claims, and names a real validator', () => {
    const config = buildConfig({ validators: { v: { url: 'https://as.example/i', style: 'rfc7662' }, w: { url: 'https://as.example/w' } }, validationEndpoint: { path: '/GetUserDetails', validator: 'v' } }, {});
    assert.equal(config.validationEndpoint!.path, '/GetUserDetails');
    assert.equal(config.validators.get('v')!.keepClaims, true);
    assert.equal(config.validators.get('w')!.keepClaims, false);
    hasProblem({ validators: MINIMAL.validators, validationEndpoint: { path: '/x', validator: 'nope' } }, 'validationEndpoint.validator', 'names no configured validator "nope"');
    hasProblem({ validators: MINIMAL.validators, validationEndpoint: { path: '/', validator: 'v' } }, 'validationEndpoint.path');
    hasProblem({ ...MINIMAL, forwardAuth: { path: '/check' }, validationEndpoint: { path: '/check/user', validator: 'v' } }, 'validationEndpoint.path', 'overlaps forwardAuth.path /check');
  });
});

describe('buildConfig: unknown keys', () => {
  test('at several depths, each with its path', () => {
    const doc = {
      servr: {},
      validators: { a: { url: 'https://as.example/c', cahce: { ttlSeconds: 1 }, cache: { ttl: 5 } } },
      routes: [{ path: '/', upstream: 'http://b', upstreem: 'http://c' }],
    };
    const problems = problemsOf(doc).map(formatProblem).sort();
    assert.deepEqual(problems, [
      'routes[0].upstreem: unknown key (did you mean upstream?)',
      'servr: unknown key (did you mean server?)',
      'validators.a.cache.ttl: unknown key',
      'validators.a.cahce: unknown key (did you mean cache?)',
    ]);
  });
  test('inside clientAuth and the byHeader choice', () => {
    const doc = minimal();
    doc.validators.v = { url: 'https://as.example/i', style: 'rfc7662', clientAuth: { method: 'none', clientld: 'x' } };
    doc.routes[0].validator = { byHeader: 'X-Region', map: { fr: 'v' }, defualt: 'v' };
    const got = paths(doc);
    assert.ok(got.includes('validators.v.clientAuth.clientld'), JSON.stringify(got));
    assert.ok(got.includes('routes[0].validator.defualt'), JSON.stringify(got));
  });
});

describe('buildConfig: upstream URLs', () => {
  for (const upstream of ['ftp://files.example/x', 'not a url', '127.0.0.1:3000', 'http://user:pw@h/', 'http://h/#frag', 42]) {
    test(`${JSON.stringify(upstream)} -> routes[0].upstream: must be an http or https URL`, () => {
      const doc = minimal();
      doc.routes[0].upstream = upstream;
      assert.deepEqual(problemsOf(doc).map(formatProblem), ['routes[0].upstream: must be an http or https URL']);
    });
  }
  test('an upstream with a query string is refused', () => {
    const doc = minimal();
    doc.routes[0].upstream = 'http://b/x?y=1';
    hasProblem(doc, 'routes[0].upstream', 'must not have a query string');
  });
  test('an upstream base path keeps no trailing slash', () => {
    const doc = minimal();
    doc.routes[0].upstream = 'https://b.example:8443/base/';
    assert.deepEqual(buildConfig(doc, {}).routes[0].upstream, { origin: 'https://b.example:8443', basePath: '/base' });
  });
  test('a validator url that is not http(s)', () => {
    const doc = minimal();
    doc.validators.v.url = 'file:///etc/passwd';
    hasProblem(doc, 'validators.v.url', 'must be an http or https URL');
  });
});

describe('buildConfig: ${NAME} substitution', () => {
  test('${NAME} from the environment', () => {
    const doc = minimal();
    doc.validators.v.query = { api_key: '${API_KEY}' };
    assert.equal(buildConfig(doc, { API_KEY: 's3cret' }).validators.get('v')!.path, '/check?api_key=s3cret');
  });
  test('${NAME:-default} uses the default when unset, the variable when set', () => {
    const doc = minimal();
    doc.realm = '${REALM:-fallback realm}';
    assert.equal(buildConfig(doc, {}).realm, 'fallback realm');
    assert.equal(buildConfig(doc, { REALM: 'corp' }).realm, 'corp');
  });
  test('${NAME:-} yields an empty default', () => {
    const doc = minimal();
    doc.validators.v.query = { api_key: 'k${SUFFIX:-}' };
    assert.equal(buildConfig(doc, {}).validators.get('v')!.path, '/check?api_key=k');
  });
  test('inside a longer string, several references', () => {
    const doc = minimal();
    doc.validators.v.url = 'https://${AS_HOST}/${TENANT:-main}/check';
    doc.routes[0].upstream = 'http://${BACKEND:-127.0.0.1}:${BACKEND_PORT}';
    const config = buildConfig(doc, { AS_HOST: 'as.corp.example', BACKEND_PORT: '3001' });
    assert.equal(config.validators.get('v')!.origin, 'https://as.corp.example');
    assert.equal(config.validators.get('v')!.path, '/main/check');
    assert.equal(config.routes[0].upstream!.origin, 'http://127.0.0.1:3001');
  });
  test('numbers from the environment become numbers', () => {
    const doc = minimal();
    doc.server = { port: '${PORT:-8080}', host: '${HOST:-127.0.0.1}' };
    doc.validators.v.timeoutMs = '${TIMEOUT:-2500}';
    const defaults = buildConfig(doc, {});
    assert.deepEqual([defaults.server.host, defaults.server.port], ['127.0.0.1', 8080]);
    assert.equal(defaults.validators.get('v')!.timeoutMs, 2500);
    const config = buildConfig(doc, { PORT: '9000', TIMEOUT: '750' });
    assert.equal(config.server.port, 9000);
    assert.equal(config.validators.get('v')!.timeoutMs, 750);
  });
  test('booleans from the environment become booleans', () => {
    const doc = minimal();
    doc.routes[0].forwardAuthorization = '${FORWARD:-false}';
    assert.equal(buildConfig(doc, {}).routes[0].forwardAuthorization, false);
  });
  test('a non-numeric value for a number is reported at its key', () => {
    const doc = minimal();
    doc.server = { port: '${PORT}' };
    hasProblem(doc, 'server.port', 'must be a whole number from 0 to 65535', { PORT: 'eighty' });
  });
  test('unset without a default -> a problem naming the key path', () => {
    const doc = minimal();
    doc.validators.v.query = { api_key: '${API_KEY}' };
    assert.deepEqual(problemsOf(doc, {}), [{ path: 'validators.v.query.api_key', message: 'environment variable API_KEY is not set and has no default' }]);
  });
  test('unset in a list item names the index', () => {
    const doc = minimal();
    doc.routes[0].requiredScopes = ['a', '${SCOPE}'];
    hasProblem(doc, 'routes[0].requiredScopes[1]', /SCOPE is not set/);
  });
  test('the variable value is not interpolated again', () => {
    const doc = minimal();
    doc.validators.v.query = { api_key: '${API_KEY}' };
    assert.equal(buildConfig(doc, { API_KEY: '${OTHER}' }).validators.get('v')!.path, '/check?api_key=%24%7BOTHER%7D');
  });
});

describe('buildConfig: validators referenced by routes', () => {
  test('a route naming an unknown validator', () => {
    const doc = minimal();
    doc.routes[0].validator = 'nope';
    assert.deepEqual(problemsOf(doc), [{ path: 'routes[0].validator', message: 'names no configured validator "nope"' }]);
  });
  test('validator omitted with two validators -> problem', () => {
    const doc = minimal();
    doc.validators.w = { url: 'https://as2.example/check' };
    hasProblem(doc, 'routes[0].validator', 'is required when more than one validator is configured');
  });
  test('validator omitted with no validators -> problem', () => {
    hasProblem({ routes: MINIMAL.routes }, 'routes[0].validator', 'is required: no validators are configured');
  });
  test('validator omitted with exactly one validator -> that one', () => {
    const config = buildConfig(minimal(), {});
    const selector = config.routes[0].validator;
    assert.ok(selector !== null && selector.kind === 'fixed');
    assert.equal(selector.validator.name, 'v');
  });
  test('byHeader: a map value naming an unknown validator -> routes[0].validator.map.fr', () => {
    const doc = minimal();
    doc.routes[0].validator = { byHeader: 'X-Region', map: { fr: 'corp-fr', ch: 'v' }, default: 'v' };
    assert.deepEqual(problemsOf(doc), [{ path: 'routes[0].validator.map.fr', message: 'names no configured validator "corp-fr"' }]);
  });
  test('byHeader: an unknown default', () => {
    const doc = minimal();
    doc.routes[0].validator = { byHeader: 'X-Region', map: { ch: 'v' }, default: 'ghost' };
    hasProblem(doc, 'routes[0].validator.default', /ghost/);
  });
  test('byHeader compiles to lower-case header and values', () => {
    const doc = minimal();
    doc.validators.w = { url: 'https://as2.example/check' };
    doc.routes[0].validator = { byHeader: 'X-Region', map: { FR: 'w', ch: 'v' } };
    const selector = buildConfig(doc, {}).routes[0].validator;
    assert.ok(selector !== null && selector.kind === 'byHeader');
    assert.equal(selector.header, 'x-region');
    assert.deepEqual([...selector.map.keys()].sort(), ['ch', 'fr']);
    assert.equal(selector.map.get('fr')!.name, 'w');
    assert.equal(selector.fallback, null);
  });
});

describe('buildConfig: validator rules', () => {
  test('rfc7662 with method GET', () => {
    const doc = minimal();
    doc.validators.v = { url: 'https://as.example/i', style: 'rfc7662', method: 'GET' };
    assert.deepEqual(paths(doc), ['validators.v.method']);
  });
  test('client_secret_basic without clientSecret', () => {
    const doc = minimal();
    doc.validators.v = { url: 'https://as.example/i', style: 'rfc7662', clientAuth: { method: 'client_secret_basic', clientId: 'gw' } };
    assert.deepEqual(problemsOf(doc), [{ path: 'validators.v.clientAuth.clientSecret', message: 'is required with client_secret_basic' }]);
  });
  test('client_secret_post without clientId', () => {
    const doc = minimal();
    doc.validators.v = { url: 'https://as.example/i', style: 'rfc7662', clientAuth: { method: 'client_secret_post', clientSecret: 's' } };
    hasProblem(doc, 'validators.v.clientAuth.clientId', 'is required with client_secret_post');
  });
  test('clientAuth bearer without token', () => {
    const doc = minimal();
    doc.validators.v = { url: 'https://as.example/i', style: 'rfc7662', clientAuth: { method: 'bearer' } };
    hasProblem(doc, 'validators.v.clientAuth.token', 'is required with bearer');
  });
  test('clientAuth on style bearer', () => {
    const doc = minimal();
    doc.validators.v.clientAuth = { method: 'client_secret_basic', clientId: 'gw', clientSecret: 's' };
    assert.deepEqual(paths(doc), ['validators.v.clientAuth']);
  });
  test('validator headers with a CR in a value', () => {
    const doc = minimal();
    doc.validators.v.headers = { 'X-Tenant': 'a\rX-Evil: 1' };
    assert.deepEqual(paths(doc), ['validators.v.headers.X-Tenant']);
  });
  test('validator headers with a LF from the environment', () => {
    const doc = minimal();
    doc.validators.v.headers = { 'X-Tenant': '${TENANT}' };
    assert.deepEqual(paths(doc, { TENANT: 'a\nb' }), ['validators.v.headers.X-Tenant']);
  });
  test('validator headers that tokengate owns', () => {
    const doc = minimal();
    doc.validators.v.headers = { Authorization: 'Bearer x' };
    assert.deepEqual(paths(doc), ['validators.v.headers.Authorization']);
  });
  test('requireActive, onUnavailable and style must be known values', () => {
    const doc = minimal();
    doc.validators.v = { url: 'https://as.example/i', requireActive: 'yes', onUnavailable: 'allow', style: 'jwt' };
    assert.deepEqual(paths(doc).sort(), ['validators.v.onUnavailable', 'validators.v.requireActive', 'validators.v.style']);
  });
  test('requireActive given as a YAML boolean', () => {
    const doc = minimal();
    doc.validators.v.requireActive = true;
    assert.equal(buildConfig(doc, {}).validators.get('v')!.requireActive, 'true');
  });
  test('cache.redis takes a redis:// or rediss:// URL, with a default wait of 50 ms', () => {
    const doc = minimal();
    doc.cache = { redis: 'redis://127.0.0.1:6379' };
    assert.deepEqual(buildConfig(doc, {}).redis, { url: 'redis://127.0.0.1:6379', timeoutMs: 50 });
    doc.cache = { redis: 'http://127.0.0.1:6379' };
    hasProblem(doc, 'cache.redis', /redis:\/\/ or rediss:\/\//);
  });
  test('onUnavailable: stale is accepted, with staleIfErrorSeconds', () => {
    const doc = minimal();
    doc.validators.v.onUnavailable = 'stale';
    doc.validators.v.staleIfErrorSeconds = 60;
    const v = buildConfig(doc, {}).validators.get('v')!;
    assert.equal(v.onUnavailable, 'stale');
    assert.equal(v.staleIfErrorSeconds, 60);
  });
  test('circuitBreaker and maxConcurrentCalls have defaults and bounds', () => {
    const v = buildConfig(minimal(), {}).validators.get('v')!;
    assert.deepEqual(v.circuitBreaker, { failures: 5, cooldownSeconds: 10 });
    assert.equal(v.maxConcurrentCalls, 256);
    const doc = minimal();
    doc.validators.v.circuitBreaker = { failures: 3, cooldownSeconds: 0 };
    hasProblem(doc, 'validators.v.circuitBreaker.cooldownSeconds', /whole number/);
  });
  test('onUnavailable: deny-401 is accepted', () => {
    const doc = minimal();
    doc.validators.v.onUnavailable = 'deny-401';
    assert.equal(buildConfig(doc, {}).validators.get('v')!.onUnavailable, 'deny-401');
  });
});

describe('buildConfig: route rules', () => {
  test('identityHeaders with an invalid JSONPath', () => {
    const doc = minimal();
    doc.routes[0].identityHeaders = { 'X-User': '$[', 'X-Ok': 'uid' };
    const problems = problemsOf(doc);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].path, 'routes[0].identityHeaders.X-User');
    assert.match(problems[0].message, /JSONPath/);
  });
  for (const name of ['Host', 'Authorization', 'authorization', 'Content-Length', 'X-Forwarded-For', 'Cookie']) {
    test(`identity header named ${name} is refused`, () => {
      const doc = minimal();
      doc.routes[0].identityHeaders = { [name]: 'uid' };
      assert.deepEqual(paths(doc), [`routes[0].identityHeaders.${name}`]);
    });
  }
  test('identity header with an invalid name', () => {
    const doc = minimal();
    doc.routes[0].identityHeaders = { 'X User': 'uid' };
    assert.ok(problemsOf(doc).length >= 1);
  });
  test('identity header names are collected in lower case', () => {
    const doc = minimal();
    doc.routes[0].identityHeaders = { 'X-User-Id': 'uid' };
    doc.routes.push({ path: '/b', upstream: 'http://b', identityHeaders: { 'X-Email': 'email' } });
    assert.deepEqual([...buildConfig(doc, {}).identityHeaderNames].sort(), ['x-email', 'x-user-id']);
  });
  test('two routes with the same path and no methods', () => {
    const doc = minimal();
    doc.routes.push({ path: '/orders', upstream: 'http://other' });
    const got = paths(doc);
    assert.ok(got.includes('routes[1].methods'), JSON.stringify(got));
  });
  test('same path, trailing slash: the same route path', () => {
    const doc = minimal();
    doc.routes.push({ path: '/orders/', upstream: 'http://other' });
    assert.ok(paths(doc).includes('routes[1].methods'));
  });
  test('same path with overlapping methods', () => {
    const doc = minimal();
    doc.routes[0].methods = ['GET', 'POST'];
    doc.routes.push({ path: '/orders', methods: ['post'], upstream: 'http://other' });
    hasProblem(doc, 'routes[1].methods', /POST on \/orders is already taken/);
  });
  test('same path with disjoint methods is fine', () => {
    const doc = minimal();
    doc.routes[0].methods = ['GET'];
    doc.routes.push({ path: '/orders', methods: ['POST', 'delete'], upstream: 'http://other' });
    const config = buildConfig(doc, {});
    assert.equal(config.routeGroups.length, 1);
    assert.equal(config.routeGroups[0].routes.length, 2);
    assert.deepEqual([...config.routes[1].methods!], ['POST', 'DELETE']);
  });
  test('auth none with requiredScopes', () => {
    const doc = minimal();
    Object.assign(doc.routes[0], { auth: 'none', requiredScopes: ['orders:read'] });
    assert.deepEqual(paths(doc), ['routes[0].requiredScopes']);
  });
  test('auth none with identityHeaders', () => {
    const doc = minimal();
    Object.assign(doc.routes[0], { auth: 'none', identityHeaders: { 'X-U': 'uid' } });
    assert.deepEqual(paths(doc), ['routes[0].identityHeaders']);
  });
  test('auth none compiles without a validator', () => {
    const doc = minimal();
    doc.routes[0].auth = 'none';
    assert.equal(buildConfig(doc, {}).routes[0].validator, null);
  });
  test('a path without a leading slash or with a query', () => {
    const doc = minimal();
    doc.routes[0].path = 'orders';
    doc.routes.push({ path: '/x?y', upstream: 'http://b' });
    assert.deepEqual(paths(doc).sort(), ['routes[0].path', 'routes[1].path']);
  });
  test('tokenFrom must not be empty nor unknown', () => {
    const doc = minimal();
    doc.routes[0].tokenFrom = [];
    doc.routes.push({ path: '/x', upstream: 'http://b', tokenFrom: ['cookie'] });
    assert.deepEqual(paths(doc).sort(), ['routes[0].tokenFrom', 'routes[1].tokenFrom[0]']);
  });
  test('a required scope with a double quote is refused (it goes into WWW-Authenticate)', () => {
    const doc = minimal();
    doc.routes[0].requiredScopes = ['a"b'];
    assert.deepEqual(paths(doc), ['routes[0].requiredScopes[0]']);
  });
  test('realm with a double quote', () => {
    const doc = minimal();
    doc.realm = 'my "realm"';
    assert.deepEqual(paths(doc), ['realm']);
  });
  test('realm with a backslash', () => {
    const doc = minimal();
    doc.realm = 'a\\b';
    assert.deepEqual(paths(doc), ['realm']);
  });
});

describe('buildConfig: several problems at once', () => {
  test('three mistakes -> at least three problems, each with its path', () => {
    const doc = {
      realm: 'bad"realm',
      validators: { v: { url: 'ftp://as.example/check', timeoutMs: -1 } },
      routes: [{ path: '/orders', upstream: 'gopher://b' }],
    };
    const got = paths(doc);
    assert.ok(got.length >= 3, JSON.stringify(got));
    for (const path of ['realm', 'validators.v.url', 'validators.v.timeoutMs', 'routes[0].upstream']) assert.ok(got.includes(path), `${path} in ${JSON.stringify(got)}`);
  });
  test('compile-stage problems are collected together too', () => {
    const doc = minimal();
    doc.validators.w = { url: 'https://as2.example/check' };
    doc.routes[0].identityHeaders = { Host: 'uid' };
    doc.routes.push({ path: '/b', upstream: 'http://b', validator: 'ghost' });
    assert.deepEqual(paths(doc).sort(), ['routes[0].identityHeaders.Host', 'routes[0].validator', 'routes[1].validator']);
  });
  test('the error message has one "path: message" line per problem', () => {
    const doc = minimal();
    doc.routes[0].upstream = 'ftp://x';
    doc.realm = '"';
    try {
      buildConfig(doc, {});
      assert.fail('expected ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.name, 'ConfigError');
      assert.deepEqual(error.message.split('\n').sort(), [
        'realm: must be printable ASCII without quotes or backslashes (RFC 6750 realm)',
        'routes[0].upstream: must be an http or https URL',
      ]);
    }
  });
});

describe('problems.ts', () => {
  test('formatPath', () => {
    assert.equal(formatPath([]), '(top level)');
    assert.equal(formatPath(['routes', 0, 'upstream']), 'routes[0].upstream');
    assert.equal(formatPath(['validators', 'a', 'query', 'api_key']), 'validators.a.query.api_key');
    assert.equal(formatPath(['routes', 2, 'tokenFrom', 1]), 'routes[2].tokenFrom[1]');
  });
  test('formatProblem', () => {
    assert.equal(formatProblem({ path: 'routes[0].upstream', message: 'must be an http or https URL' }), 'routes[0].upstream: must be an http or https URL');
  });
  test('ConfigError keeps its problems', () => {
    const problems = [{ path: 'a', message: 'x' }, { path: 'b', message: 'y' }];
    const error = new ConfigError(problems);
    assert.equal(error instanceof Error, true);
    assert.deepEqual(error.problems, problems);
    assert.equal(error.message, 'a: x\nb: y');
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tokengate-config-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a valid YAML file, with ${NAME} from the given environment', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(
      file,
      ['realm: corp', 'validators:', '  v:', '    url: https://as.example/check', '    query: { api_key: "${API_KEY}" }', 'routes:', '  - path: /orders', '    upstream: http://127.0.0.1:3000', ''].join('\n'),
    );
    const config = await loadConfigFile(file, { API_KEY: 'k' });
    assert.equal(config.realm, 'corp');
    assert.equal(config.validators.get('v')!.path, '/check?api_key=k');
  });

  test('a YAML syntax error names the file and the line', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, ['realm: corp', 'routes:', '  - path: /orders', '    upstream: [http://b', ''].join('\n'));
    await assert.rejects(loadConfigFile(file, {}), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.problems.length, 1);
      assert.equal(error.problems[0].path, file);
      assert.ok(error.message.startsWith(`${file}: not valid YAML at line `), error.message);
      assert.match(error.message, /at line \d+, column \d+/);
      return true;
    });
  });

  for (const [label, lines, line] of [
    ['a duplicate key', ['realm: corp', 'realm: again', 'routes: []'], 2],
    ['a tab used as indentation', ['realm: corp', 'routes:', '\t- path: /a'], 3],
    ['a sequence item without "-"', ['realm: corp', 'routes:', '  - path: /a', '   upstream: http://b'], 4],
  ] as const) {
    test(`a YAML syntax error (${label}) reports line ${line}`, async () => {
      const file = join(dir, `line-${line}.yaml`);
      await writeFile(file, [...lines, ''].join('\n'));
      await assert.rejects(loadConfigFile(file, {}), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.problems.length, 1);
        assert.equal(error.problems[0].path, file);
        assert.match(error.problems[0].message, new RegExp(`^not valid YAML at line ${line}, column \\d+: `));
        return true;
      });
    });
  }

  test('a .json file parses', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(file, JSON.stringify({ ...MINIMAL, server: { port: 8181 } }));
    const config = await loadConfigFile(file, {});
    assert.equal(config.server.port, 8181);
    assert.equal(config.routes[0].path, '/orders');
  });

  test('a broken .json file names the file', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"routes": [');
    await assert.rejects(loadConfigFile(file, {}), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.problems[0].path, file);
      assert.match(error.problems[0].message, /^not valid JSON( at line \d+, column \d+)?: /);
      return true;
    });
  });

  test('a missing file is a problem, not a crash', async () => {
    const file = join(dir, 'does-not-exist.yaml');
    await assert.rejects(loadConfigFile(file, {}), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, [{ path: file, message: 'cannot read the file (ENOENT)' }]);
      return true;
    });
  });

  test('schema problems from a file carry key paths', async () => {
    const file = join(dir, 'bad-upstream.yaml');
    await writeFile(file, ['validators: { v: { url: "https://as.example/c" } }', 'routes:', '  - path: /', '    upstream: ftp://b', ''].join('\n'));
    await assert.rejects(loadConfigFile(file, {}), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, 'routes[0].upstream: must be an http or https URL');
      return true;
    });
  });
});

describe('problems a newcomer meets, each told once and plainly (regression: "A newcomer\'s first hour" item 6)', () => {
  const all = (document: unknown) => problemsOf(document, {}).map((p) => `${p.path}: ${p.message}`);

  test('one pass: a schema problem and a wrong validator name and a bad JSONPath come together', () => {
    const problems = all({ validators: { v: { url: 'ftp://x' } }, routes: [{ path: '/a', upstream: 'http://127.0.0.1:1', validator: 'w', identityHeaders: { 'X-A': '$[' } }] });
    assert.ok(problems.includes('validators.v.url: must be an http or https URL'), problems.join('\n'));
    assert.ok(problems.includes('routes[0].validator: names no configured validator "w"'), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('routes[0].identityHeaders.X-A: is not a valid RFC 9535 JSONPath')), problems.join('\n'));
  });

  test('a missing upstream says "is required"', () => {
    assert.ok(all({ validators: MINIMAL.validators, routes: [{ path: '/a' }] }).some((p) => p.startsWith('routes[0].upstream: is required')));
  });

  test('a near miss of a known key gets a "did you mean"', () => {
    const problems = all({ validator: { v: { url: 'https://as/x' } }, routes: [{ path: '/a', upstreem: 'http://127.0.0.1:1' }] });
    assert.ok(problems.includes('validator: unknown key (did you mean validators?)'), problems.join('\n'));
    assert.ok(problems.includes('routes[0].upstreem: unknown key (did you mean upstream?)'), problems.join('\n'));
    assert.ok(all({ ...MINIMAL, zzz: 1 }).includes('zzz: unknown key'));
  });

  test('JSON syntax: one line with line and column, never V8\'s copy of the source', () => {
    const text = '{\n  "validators": {},\n  "routes": [ , ]\n}';
    assert.throws(() => parseConfigText(text, 'x.json'), (error: ConfigError) => {
      assert.equal(error.problems.length, 1);
      assert.match(error.problems[0].message, /^not valid JSON at line 3, column \d+: /);
      assert.doesNotMatch(error.problems[0].message, /\n|"validators"/);
      return true;
    });
  });

  test('a multi-document YAML (a Kubernetes manifest) says so, without a library hint', () => {
    assert.throws(() => parseConfigText('a: 1\n---\nb: 2\n', 'x.yaml'), (error: ConfigError) => {
      assert.equal(error.problems[0].message, 'holds 2 YAML documents (separated by "---"); a configuration is one document (from a Kubernetes manifest, take the ConfigMap\'s tokengate.yaml)');
      return true;
    });
  });

  test('an alias to an anchor that does not exist is a problem, not a stack trace', () => {
    assert.throws(() => parseConfigText('a: *nowhere\n', 'x.yaml'), ConfigError);
  });
});

describe('buildConfig: SPEC 7.4 dialects', () => {
  function withValidator(v: Record<string, unknown>, route: Record<string, unknown> = {}) {
    const document = minimal();
    Object.assign(document.validators.v, v);
    Object.assign(document.routes[0], route);
    return document;
  }
  const digestOf = (v: Record<string, unknown>, route: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) =>
    buildConfig(withValidator(v, route), env).validators.get('v')!.resultDigest;

  test('defaults: format auto, accept json, no proxy, no TLS material, nothing required of iss/aud', () => {
    const v = buildConfig(minimal(), {}).validators.get('v')!;
    assert.equal(v.format, 'auto');
    assert.equal(v.requireIssuer, null);
    assert.equal(v.requireAudience, null);
    assert.equal(v.signedAnswers, false);
    assert.deepEqual(v.outbound, { proxy: null, tls: null });
    assert.equal(v.clientAssertion, null);
    assert.equal(v.jwtAnswers, null);
    assert.equal(v.headers.accept, 'application/json, */*;q=0.5');
  });

  test('identity paths: "/" begins an XPath, anything else is JSONPath; both are checked with the schema', () => {
    assert.doesNotThrow(() => buildConfig(withValidator({}, { identityHeaders: { 'X-A': '/user/email', 'X-B': '//account/uid', 'X-C': 'uid' } }), {}));
    hasProblem(withValidator({}, { identityHeaders: { 'X-A': '/user/[' } }), 'routes[0].identityHeaders.X-A', /^is not a usable XPath 1\.0 expression: /);
    hasProblem(withValidator({}, { identityHeaders: { 'X-A': '/u:user' } }), 'routes[0].identityHeaders.X-A', /namespace prefixes are not supported/);
    hasProblem(withValidator({}, { identityHeaders: { 'X-A': '$[' } }), 'routes[0].identityHeaders.X-A', /^is not a valid RFC 9535 JSONPath: /);
  });

  test('an XPath on a validator that reads JSON only, a JSONPath on format xml: a problem naming the header', () => {
    hasProblem(withValidator({ format: 'json' }, { identityHeaders: { 'X-Mail': '/user/email' } }), 'routes[0].identityHeaders.X-Mail', 'is XPath (it begins with "/"), but validator "v" reads JSON answers only (format: json); use a JSONPath');
    hasProblem(withValidator({ style: 'rfc7662' }, { identityHeaders: { 'X-Mail': '/user/email' } }), 'routes[0].identityHeaders.X-Mail', /reads JSON answers only \(style rfc7662\)/);
    hasProblem(withValidator({ format: 'xml' }, { identityHeaders: { 'X-Mail': 'email' } }), 'routes[0].identityHeaders.X-Mail', 'is JSONPath, but validator "v" has format: xml; an XPath begins with "/"');
    assert.doesNotThrow(() => buildConfig(withValidator({ format: 'xml' }, { identityHeaders: { 'X-Mail': '/user/email' } }), {}));
  });

  test('a route choosing among validators: every one of them is checked', () => {
    const document = withValidator({}, { validator: { byHeader: 'X-Region', map: { fr: 'v', ch: 'ch' } }, identityHeaders: { 'X-Mail': '/user/email' } });
    document.validators.ch = { url: 'https://ch.example/check', format: 'json' };
    hasProblem(document, 'routes[0].identityHeaders.X-Mail', /validator "ch" reads JSON answers only/);
  });

  test('format xml contradicts style rfc7662 (RFC 7662 section 2.2)', () => {
    hasProblem(withValidator({ style: 'rfc7662', format: 'xml' }), 'validators.v.format', /^cannot be xml with style rfc7662/);
    hasProblem(withValidator({ format: 'yaml' }), 'validators.v.format', 'must be one of auto, json, xml');
  });

  test('format xml asks for XML; accept jwt for RFC 9701 answers', () => {
    assert.equal(buildConfig(withValidator({ format: 'xml' }), {}).validators.get('v')!.headers.accept, 'application/xml, text/xml;q=0.9, */*;q=0.5');
  });

  test('proxy: a URL (credentials become Proxy-Authorization, the URI keeps none) or env', () => {
    hasProblem(withValidator({ proxy: 'http://gw:${PROXY_PASS}@proxy.internal:3128' }), 'validators.v.proxy', /not percent-encoded/, { PROXY_PASS: 'p@ss:w%rd' });
    const ok = buildConfig(withValidator({ proxy: 'http://gw:${PROXY_PASS}@proxy.internal:3128' }), { PROXY_PASS: encodeURIComponent('p@ss:w%rd') }).validators.get('v')!;
    assert.deepEqual(ok.outbound.proxy, { uri: 'http://proxy.internal:3128', authorization: `Basic ${Buffer.from('gw:p@ss:w%rd').toString('base64')}` });
    assert.equal(ok.headers.host, 'as.example', 'a Host header for the proxy agent');
    assert.equal(buildConfig(withValidator({ proxy: 'env' }), {}).validators.get('v')!.outbound.proxy, 'env');
    assert.deepEqual(buildConfig(withValidator({ proxy: 'http://proxy.internal:3128' }), {}).validators.get('v')!.outbound.proxy, { uri: 'http://proxy.internal:3128', authorization: null });
    hasProblem(withValidator({ proxy: 'socks5://proxy.internal:1080' }), 'validators.v.proxy', /^must be "env" or an http:\/\/ or https:\/\/ proxy URL/);
    hasProblem(withValidator({ proxy: 'http://proxy.internal:3128/x' }), 'validators.v.proxy', 'must be a proxy URL without a path, query or fragment');
  });

  test('requireIssuer / requireAudience must not be empty', () => {
    hasProblem(withValidator({ requireIssuer: '' }), 'validators.v.requireIssuer', 'must not be empty');
    hasProblem(withValidator({ requireAudience: 7 }), 'validators.v.requireAudience', 'must be a string');
  });

  test('private_key_jwt needs clientId and privateKey, and only style rfc7662', () => {
    const auth = (clientAuth: Record<string, unknown>) => withValidator({ style: 'rfc7662', clientAuth });
    hasProblem(auth({ method: 'private_key_jwt' }), 'validators.v.clientAuth.clientId', 'is required with private_key_jwt');
    hasProblem(auth({ method: 'private_key_jwt' }), 'validators.v.clientAuth.privateKey', 'is required with private_key_jwt (a PEM file path)');
    hasProblem(auth({ method: 'client_secret_basic', clientId: 'a', clientSecret: 'b', alg: 'ES256' }), 'validators.v.clientAuth.alg', 'is only used with private_key_jwt');
    hasProblem(withValidator({ clientAuth: { method: 'private_key_jwt', clientId: 'gw', privateKey: '/nowhere.pem' } }), 'validators.v.clientAuth', /is only for style rfc7662/);
  });

  test('the result digest follows what changes a judgement or the identity layout', () => {
    const base = digestOf({});
    for (const change of [{ format: 'xml' }, { format: 'json' }, { requireIssuer: 'https://as.example' }, { requireAudience: 'orders-api' }]) {
      assert.notEqual(digestOf(change), base, JSON.stringify(change));
    }
    assert.notEqual(digestOf({}, { identityHeaders: { 'X-A': '/user/email' } }), digestOf({}, { identityHeaders: { 'X-A': '/user/uid' } }), 'the XPath paths');
    const jwt = { style: 'rfc7662', clientAuth: { method: 'client_secret_basic', clientId: 'gw', clientSecret: 's' }, requireIssuer: 'https://as.example' };
    assert.notEqual(digestOf({ ...jwt, accept: 'jwt', jwksUrl: 'https://as.example/jwks' }), digestOf(jwt), 'accept');
    assert.notEqual(digestOf({ ...jwt, accept: 'jwt', jwksUrl: 'https://as.example/jwks' }), digestOf({ ...jwt, accept: 'jwt', jwksUrl: 'https://as.example/keys' }), 'jwksUrl');
  });

  test('the result digest never follows a secret, the proxy or the TLS material', () => {
    const base = digestOf({ proxy: 'http://gw:${P}@proxy.internal:3128' }, {}, { P: 'one' });
    assert.equal(digestOf({ proxy: 'http://gw:${P}@proxy.internal:3128' }, {}, { P: 'two' }), base, 'the proxy password');
    assert.equal(digestOf({ proxy: 'http://gw:x@other.internal:8080' }), base, 'where the proxy is');
    assert.equal(digestOf({}), base, 'whether there is one');
    assert.equal(digestOf({ proxy: 'env' }), base);
    const secret = (s: string) => digestOf({ style: 'rfc7662', clientAuth: { method: 'client_secret_basic', clientId: 'gw', clientSecret: s } });
    assert.equal(secret('a'), secret('b'));
  });
});
