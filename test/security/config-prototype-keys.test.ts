/**
 * Regression for "Keep the door shut" finding 3: `__proto__: { auth: none }` inside a route passed
 * `check` and served the route without a token (YAML and JSON alike), because copying the parsed
 * document with `out[key] = …` made it the route's prototype. Such keys are now refused wherever
 * they appear, naming the path; and a property test holds the wider rule: whatever key is added
 * anywhere to a valid configuration, it is refused unless the schema knows it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { buildConfig, parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { runCli, tempDir } from '../fixtures/cli.js';
import { settings } from '../fixtures/properties.js';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

const YAML_ROUTE_PROTO = `
validators:
  v: { url: "https://as.example/check" }
routes:
  - path: /a
    upstream: http://127.0.0.1:3000
    __proto__: { auth: none }
`;
const JSON_ROUTE_PROTO = '{"validators":{"v":{"url":"https://as.example/check"}},"routes":[{"path":"/a","upstream":"http://127.0.0.1:3000","__proto__":{"auth":"none"}}]}';

describe('__proto__, constructor and prototype keys are refused everywhere (regression: finding 3)', () => {
  test('YAML: a route with __proto__ { auth: none } is refused, naming the key', () => {
    assert.deepEqual(problemsOf(() => buildConfig(parseConfigText(YAML_ROUTE_PROTO, 'x.yaml'), {})), [
      'routes[0].__proto__: is not allowed as a key (it would change how every other key is read)',
    ]);
  });

  test('JSON: the same', () => {
    assert.deepEqual(problemsOf(() => buildConfig(parseConfigText(JSON_ROUTE_PROTO, 'x.json'), {})), [
      'routes[0].__proto__: is not allowed as a key (it would change how every other key is read)',
    ]);
  });

  for (const [where, doc] of [
    ['top level', '{"constructor":{"x":1},"validators":{"v":{"url":"https://as.example/c"}},"routes":[{"path":"/a","upstream":"http://127.0.0.1:1"}]}'],
    ['a validator', '{"validators":{"v":{"url":"https://as.example/c","prototype":{"requireActive":"false"}}},"routes":[{"path":"/a","upstream":"http://127.0.0.1:1"}]}'],
    ['the validators map', '{"validators":{"__proto__":{"url":"https://as.example/c"}},"routes":[{"path":"/a","upstream":"http://127.0.0.1:1"}]}'],
    ['identity headers', '{"validators":{"v":{"url":"https://as.example/c"}},"routes":[{"path":"/a","upstream":"http://127.0.0.1:1","identityHeaders":{"constructor":"uid"}}]}'],
  ] as const) {
    test(`in ${where}`, () => {
      const problems = problemsOf(() => buildConfig(parseConfigText(doc, 'x.json'), {}));
      assert.match(problems[0], /(__proto__|constructor|prototype): is not allowed as a key/, problems.join('\n'));
    });
  }

  test('bin/tokengate check exits 1 and names the key; serve refuses to start', async () => {
    const dir = await tempDir();
    try {
      const file = await dir.write('tokengate.yaml', YAML_ROUTE_PROTO);
      const check = await runCli(['check', '--config', file]);
      assert.equal(check.code, 1);
      assert.equal(check.stderr, 'routes[0].__proto__: is not allowed as a key (it would change how every other key is read)\n');
      const serve = await runCli(['serve', '--config', file]);
      assert.equal(serve.code, 1);
      assert.doesNotMatch(serve.stdout, /listening/);
    } finally {
      await dir.remove();
    }
  });
});

describe('property: a key the schema does not know is refused, wherever it is added', () => {
  const valid = () => ({
    server: { host: '127.0.0.1', port: 8080 },
    validators: { v: { url: 'https://as.example/check', cache: { ttlSeconds: 30 } } },
    routes: [{ path: '/a', upstream: 'http://127.0.0.1:3000', identityHeaders: { 'X-User': 'uid' }, validator: { byHeader: 'X-Region', map: { fr: 'v' } } }],
  });
  /** The objects of the document that have a fixed set of keys (maps of names are open by design). */
  const places = ['', 'server', 'validators.v', 'validators.v.cache', 'routes.0', 'routes.0.validator'];
  const known = new Set(['host', 'port', 'url', 'style', 'method', 'query', 'headers', 'clientAuth', 'timeoutMs', 'requireActive', 'cache', 'onUnavailable', 'staleIfErrorSeconds', 'clockSkewSeconds', 'circuitBreaker', 'maxConcurrentCalls',
    'ttlSeconds', 'negativeTtlSeconds', 'maxEntries', 'maxBytes', 'path', 'methods', 'upstream', 'auth', 'validator', 'tokenFrom', 'requiredScopes', 'identityHeaders', 'identityEncoding', 'forwardAuthorization', 'upstreamTimeoutMs', 'methodOverride',
    'byHeader', 'map', 'default', 'server', 'admin', 'realm', 'validators', 'routes', 'forwardAuth', 'validationEndpoint', 'telemetry', 'format', 'proxy', 'tls', 'accept', 'jwksUrl', 'requireIssuer', 'requireAudience',
    'headersTimeoutSeconds', 'requestTimeoutSeconds', 'keepAliveTimeoutSeconds', 'maxConnections', 'maxConnectionsPerClient', 'maxTokenBytes', 'maxIdentityValueBytes', 'invalidTokenRate', 'trustedProxies', 'clientLimits', 'token']);

  test('never accepted, always named', () => {
    fc.assert(
      fc.property(fc.constantFrom(...places), fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.has(k)), fc.jsonValue({ maxDepth: 2 }), (place, key, value) => {
        const doc = valid() as Record<string, unknown>;
        let target = doc;
        for (const part of place === '' ? [] : place.split('.')) target = target[part] as Record<string, unknown>;
        Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
        const text = stringify(doc);
        const problems = problemsOf(() => buildConfig(parseConfigText(text, 'x.yaml'), {}));
        assert.ok(problems.length > 0, `accepted an unknown key ${JSON.stringify(key)} at ${place || '(top level)'}`);
        assert.ok(problems.some((p) => p.includes(key) || p.startsWith('(top level)')), problems.join('\n'));
      }),
      settings(300, 3),
    );
  });
});
