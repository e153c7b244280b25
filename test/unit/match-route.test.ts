/**
 * Stage 1, route (SPEC section 3): longest path prefix on segment boundaries, methods and 405,
 * request-target parsing, and paths refused before matching because backends read them differently.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GatewayConfig } from '../../src/config/compile.js';
import { buildConfig } from '../../src/config/load.js';
import { matchRoute, normalizePath, parseTarget } from '../../src/pipeline/match-route.js';

const VALIDATORS = { v: { url: 'https://as.example/check' } };

function configOf(routes: Record<string, unknown>[]): GatewayConfig {
  return buildConfig({ validators: VALIDATORS, routes: routes.map((r) => ({ upstream: 'http://127.0.0.1:3000', ...r })) }, {});
}

/** The configured index of the matched route, or the match kind. */
function matched(config: GatewayConfig, method: string, path: string): number | string {
  const m = matchRoute(config, method, path);
  return m.kind === 'route' ? m.route.index : m.kind;
}

function header(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i].toLowerCase() === name) return headers[i + 1];
  return undefined;
}

describe('matchRoute: segment-boundary prefixes', () => {
  const config = configOf([{ path: '/orders' }]);
  const cases: [string, number | string][] = [
    ['/orders', 0],
    ['/orders/', 0],
    ['/orders/7', 0],
    ['/orders/7/items', 0],
    ['/ordersX', 'no_route'],
    ['/orders-archive', 'no_route'],
    ['/order', 'no_route'],
    ['/', 'no_route'],
    // A backend that ignores case would serve /orders: another route than the spelling as sent.
    ['/Orders', 'ambiguous'],
    ['/api/orders', 'no_route'],
  ];
  for (const [path, expected] of cases) {
    test(`/orders vs ${path} -> ${expected}`, () => {
      assert.equal(matched(config, 'GET', path), expected);
    });
  }
});

describe('matchRoute: spellings a backend reads alike pick the same route, or none', () => {
  const config = configOf([{ path: '/', auth: 'none' }, { path: '/orders' }, { path: '/Reports' }]);
  const cases: [string, number | string][] = [
    ['/orders/7', 1],
    ['/users/AbC', 0], // case differs from no route: both readings pick "/"
    ['/ORDERS/7', 'ambiguous'], // Express reads /orders/7: the auth route, not "/"
    ['/oRdErS', 'ambiguous'],
    ['/orders;jsessionid=1/7', 'ambiguous'], // Tomcat reads /orders/7
    ['/orders;/7', 'ambiguous'],
    ['/orders/7;jsessionid=1', 1], // every reading picks /orders
    ['/Reports/1', 2],
    ['/reports/1', 'ambiguous'], // a case-insensitive backend reads /Reports/1
    ['/a;b', 0],
  ];
  for (const [path, expected] of cases) {
    test(`${path} -> ${expected}`, () => {
      assert.equal(matched(config, 'GET', path), expected);
    });
  }
  test('route paths that differ only in case are a configuration error', () => {
    assert.throws(() => configOf([{ path: '/orders' }, { path: '/Orders', methods: ['POST'] }]), /routes\[1\]\.path: differs from routes\[0\]\.path \(\/orders\) only in case/);
  });
  test('";" in a route path is a configuration error', () => {
    assert.throws(() => configOf([{ path: '/orders;v=1' }]), /routes\[0\]\.path: must not contain ";"/);
  });
  test('route paths are matched in normal form: /%6Frders configured is /orders', () => {
    assert.equal(matched(configOf([{ path: '/%6Frders' }]), 'GET', '/orders/1'), 0);
  });
});

describe('matchRoute: longest prefix wins', () => {
  // Declared shortest first, so that the order in the file cannot be what decides.
  const config = configOf([{ path: '/' }, { path: '/api' }, { path: '/api/orders' }, { path: '/api/orders/special' }]);
  const cases: [string, number][] = [
    ['/', 0],
    ['/anything', 0],
    ['/apix', 0],
    ['/api', 1],
    ['/api/users', 1],
    ['/api/ordersX', 1],
    ['/api/orders', 2],
    ['/api/orders/7', 2],
    ['/api/orders/special', 3],
    ['/api/orders/special/1', 3],
    ['/api/orders/specialX', 2],
  ];
  for (const [path, expected] of cases) {
    test(`${path} -> routes[${expected}]`, () => {
      assert.equal(matched(config, 'GET', path), expected);
    });
  }
  test('declared longest first gives the same answer', () => {
    const reversed = configOf([{ path: '/api/orders' }, { path: '/api' }]);
    assert.equal(matched(reversed, 'GET', '/api/orders/1'), 0);
    assert.equal(matched(reversed, 'GET', '/api/x'), 1);
  });
});

describe('matchRoute: route paths', () => {
  test('"/" matches everything else', () => {
    const config = configOf([{ path: '/' }]);
    for (const path of ['/', '/x', '/x/y/z', '/.well-known/openid-configuration']) assert.equal(matched(config, 'GET', path), 0, path);
  });
  test('a trailing-slash route path "/orders/" behaves like "/orders"', () => {
    const config = configOf([{ path: '/orders/' }]);
    assert.equal(config.routes[0].path, '/orders');
    assert.equal(matched(config, 'GET', '/orders'), 0);
    assert.equal(matched(config, 'GET', '/orders/'), 0);
    assert.equal(matched(config, 'GET', '/orders/7'), 0);
    assert.equal(matched(config, 'GET', '/ordersX'), 'no_route');
  });
});

describe('matchRoute: methods', () => {
  const config = configOf([{ path: '/orders', methods: ['GET', 'POST'] }]);

  test('an allowed method matches', () => {
    assert.equal(matched(config, 'GET', '/orders'), 0);
    assert.equal(matched(config, 'POST', '/orders/1'), 0);
  });
  test('HEAD matches a GET route', () => {
    assert.equal(matched(config, 'HEAD', '/orders/1'), 0);
  });
  test('HEAD does not match a route without GET', () => {
    const postOnly = configOf([{ path: '/orders', methods: ['POST'] }]);
    assert.equal(matched(postOnly, 'HEAD', '/orders'), 'method_not_allowed');
  });
  for (const method of ['DELETE', 'PUT', 'PATCH', 'OPTIONS']) {
    test(`${method} is excluded -> method_not_allowed`, () => {
      assert.equal(matched(config, method, '/orders/1'), 'method_not_allowed');
    });
  }
  test('the 405 prepared response has status 405 and an Allow header (HEAD added for GET)', () => {
    const m = matchRoute(config, 'DELETE', '/orders');
    assert.equal(m.kind, 'method_not_allowed');
    assert.ok(m.kind === 'method_not_allowed');
    assert.equal(m.group.path, '/orders');
    const prepared = m.group.methodNotAllowed;
    assert.equal(prepared.status, 405);
    assert.equal(header(prepared.headers, 'allow'), 'GET, HEAD, POST');
    assert.equal(header(prepared.headers, 'content-type'), 'application/json');
    assert.equal(header(prepared.headers, 'www-authenticate'), undefined);
    assert.deepEqual(JSON.parse(prepared.body.toString()), { errors: [{ type: 'MethodNotAllowedError', message: 'This method is not allowed on this path.' }] });
  });
  test('without GET, HEAD is not listed in Allow', () => {
    const m = matchRoute(configOf([{ path: '/w', methods: ['PUT', 'POST'] }]), 'GET', '/w');
    assert.ok(m.kind === 'method_not_allowed');
    assert.equal(header(m.group.methodNotAllowed.headers, 'allow'), 'POST, PUT');
  });
  test('methods in the configuration are case-insensitive', () => {
    assert.equal(matched(configOf([{ path: '/o', methods: ['get'] }]), 'GET', '/o'), 0);
  });
  test('a method-restricted longer route does not fall back to a shorter one', () => {
    const nested = configOf([{ path: '/api' }, { path: '/api/orders', methods: ['GET'] }]);
    assert.equal(matched(nested, 'POST', '/api/orders'), 'method_not_allowed');
    assert.equal(matched(nested, 'POST', '/api/users'), 0);
  });

  describe('same path, two routes split by methods', () => {
    const split = configOf([
      { path: '/orders', methods: ['GET'] },
      { path: '/orders', methods: ['POST', 'PUT'] },
    ]);
    const cases: [string, number | string][] = [
      ['GET', 0],
      ['HEAD', 0],
      ['POST', 1],
      ['PUT', 1],
      ['DELETE', 'method_not_allowed'],
    ];
    for (const [method, expected] of cases) {
      test(`${method} -> ${expected}`, () => {
        assert.equal(matched(split, method, '/orders/9'), expected);
      });
    }
    test('the group lists the methods of both routes', () => {
      const m = matchRoute(split, 'DELETE', '/orders');
      assert.ok(m.kind === 'method_not_allowed');
      assert.equal(m.group.routes.length, 2);
      assert.equal(header(m.group.methodNotAllowed.headers, 'allow'), 'GET, HEAD, POST, PUT');
    });
  });
});

describe('parseTarget', () => {
  const cases: [string, { path: string; query: string } | null][] = [
    ['/orders', { path: '/orders', query: '' }],
    ['/orders?x=1&y=2', { path: '/orders', query: 'x=1&y=2' }],
    ['/orders?', { path: '/orders', query: '' }],
    ['/?a', { path: '/', query: 'a' }],
    ['/a?b?c', { path: '/a', query: 'b?c' }],
    ['http://h/p?q', { path: '/p', query: 'q' }],
    ['https://h:8443/p/q', { path: '/p/q', query: '' }],
    ['http://h', { path: '/', query: '' }],
    ['http://h?x=1', { path: '/', query: 'x=1' }],
    ['http://h/?x=1', { path: '/', query: 'x=1' }],
    ['*', null],
    ['h.example:443', null],
    ['ftp://h/p', null],
  ];
  for (const [target, expected] of cases) {
    test(`${JSON.stringify(target)} -> ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseTarget(target), expected);
    });
  }
});

describe('normalizePath: the path every backend reads (RFC 3986 §6.2.2)', () => {
  const rejected = [
    '/a/../b', '/a/./b', '/a/..', '/a/.', '/..', '/%2e%2e/x', '/%2E%2E/x', '/a/.%2e/b', '/a/%2e/b', '/a%2Fb', '/a%2fb', '/a%5cb', '/a%5Cb', '/a\\b', '//a', '/a//b', '/a%00',
    '/a/..;x/b', '/a/.;/b', '/a/%2e%2e;jsessionid=1/b', '/a#b', '/a%', '/a%4', '/a%zz', '/a%ff', '/a%c3', '/a%c3%28', '/%e2%82', 'a', '',
  ];
  const normalised: [string, string][] = [
    ['/', '/'], ['/a', '/a'], ['/a/', '/a/'], ['/.well-known/x', '/.well-known/x'], ['/a..b/c', '/a..b/c'], ['/a/..b', '/a/..b'], ['/file.txt', '/file.txt'],
    ['/a%20b', '/a%20b'], ['/a%2e', '/a.'], ['/orders/7', '/orders/7'], ['/a/.hidden', '/a/.hidden'],
    // Encoded unreserved characters are decoded: the backend reads them so.
    ['/%6Frders/7', '/orders/7'], ['/%6frders/%37', '/orders/7'], ['/%41%5a%61%7a%30%39%2D%2E%5F%7E', '/AZaz09-._~'],
    // Other escapes stay, in upper case; valid UTF-8 sequences pass.
    ['/a%3bb', '/a%3Bb'], ['/a%3fb', '/a%3Fb'], ['/caf%c3%a9', '/caf%C3%A9'], ['/%E2%82%AC/x', '/%E2%82%AC/x'], ['/a%25b', '/a%25b'],
    ['/a;jsessionid=1/b', '/a;jsessionid=1/b'],
  ];
  for (const path of rejected) {
    test(`refuses ${JSON.stringify(path)}`, () => {
      assert.equal(normalizePath(path), null);
    });
  }
  for (const [path, expected] of normalised) {
    test(`${path} -> ${expected}`, () => {
      assert.equal(normalizePath(path), expected);
    });
  }
  test('a normal path is returned as is', () => {
    const path = '/orders/7';
    assert.equal(normalizePath(path), path);
  });
});
