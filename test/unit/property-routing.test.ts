/**
 * Properties of path normalisation and routing ("Keep the door shut"): whatever the bytes of a
 * path, normalisation never throws, is idempotent, never lets through what backends read
 * differently, and an encoded and a decoded spelling of a path always pick the same route.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { buildConfig } from '../../src/config/load.js';
import { matchRoute, normalizePath, type RouteMatch } from '../../src/pipeline/match-route.js';
import { settings } from '../fixtures/properties.js';

const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
const config = buildConfig(
  {
    validators: { v: { url: 'https://as.example/check' } },
    routes: ['/', '/api', '/api/orders', '/api/orders/special', '/public', '/a-b', '/x.y', '/~u'].map((path) => ({ path, upstream: 'http://127.0.0.1:1', ...(path === '/' || path === '/public' ? { auth: 'none' } : {}) })),
  },
  {},
);

/** A segment of unreserved characters, some of them percent-encoded in either case. */
const segment = fc.array(fc.tuple(fc.constantFrom(...UNRESERVED), fc.constantFrom('plain', 'upper', 'lower')), { minLength: 1, maxLength: 8 }).map((chars) => ({
  decoded: chars.map(([c]) => c).join(''),
  encoded: chars.map(([c, how]) => (how === 'plain' ? c : `%${c.charCodeAt(0).toString(16).padStart(2, '0')[how === 'upper' ? 'toUpperCase' : 'toLowerCase']()}`)).join(''),
}));
const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((segments) => ({
  decoded: `/${segments.map((s) => s.decoded).join('/')}`,
  encoded: `/${segments.map((s) => s.encoded).join('/')}`,
}));

const describeMatch = (m: RouteMatch) => (m.kind === 'route' ? `route ${m.route.path}` : m.kind === 'method_not_allowed' ? `405 ${m.group.path}` : m.kind);

describe('property: path normalisation', () => {
  test('never throws, and is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (raw) => {
        const once = normalizePath(`/${raw}`);
        if (once !== null) assert.equal(normalizePath(once), once);
      }),
      settings(2000, 11),
    );
  });

  test('what comes out has no encoded / \\ or NUL, no raw \\ or #, no dot or empty segments, only upper-case escapes of reserved bytes', () => {
    const pathLike = fc.array(fc.constantFrom('/', '.', '..', '%2e', '%2E', '%2f', '%5c', '%00', '%41', '%7e', '%7E', '%3b', ';', 'a', 'B', '\\', '#', '%', '%c3%a9', '%ff', '~'), { maxLength: 12 }).map((parts) => `/${parts.join('')}`);
    fc.assert(
      fc.property(pathLike, (raw) => {
        const out = normalizePath(raw);
        if (out === null) return;
        assert.doesNotMatch(out, /%2f|%5c|%00|\\|#/i, raw);
        assert.doesNotMatch(out, /\/\/|\/\.\.?(?:[/;]|$)/, raw);
        for (const escape of out.matchAll(/%(..)/g)) {
          assert.match(escape[1], /^[0-9A-F]{2}$/, raw);
          assert.equal(UNRESERVED.includes(String.fromCharCode(parseInt(escape[1], 16))), false, `${raw}: an unreserved byte stayed encoded`);
        }
      }),
      settings(3000, 12),
    );
  });

  test('an encoded spelling normalises to its decoded one', () => {
    fc.assert(
      fc.property(path, ({ decoded, encoded }) => {
        const normal = normalizePath(decoded);
        if (normal === null) return; // a dot segment spelt out: refused in both forms
        assert.equal(normalizePath(encoded), normal);
      }),
      settings(2000, 13),
    );
  });
});

describe('property: routing', () => {
  test('an encoded and a decoded spelling always pick the same route', () => {
    const prefixed = fc.tuple(fc.constantFrom('', '/api', '/api/orders', '/public', '/api/orders/special'), path).map(([prefix, p]) => ({ decoded: prefix + p.decoded, encoded: prefix.replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`) + p.encoded }));
    fc.assert(
      fc.property(prefixed, fc.constantFrom('GET', 'POST', 'DELETE'), ({ decoded, encoded }, method) => {
        const a = normalizePath(decoded);
        const b = normalizePath(encoded);
        assert.equal(a, b);
        if (a === null) return;
        assert.equal(describeMatch(matchRoute(config, method, a)), describeMatch(matchRoute(config, method, b!)));
      }),
      settings(2000, 14),
    );
  });

  test('a spelling that differs in case or ;params either picks the same route or is refused as ambiguous', () => {
    const spelling = fc.tuple(fc.constantFrom('/api/orders/7', '/public/x', '/api/x', '/other'), fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }), fc.constantFrom('', ';a=1'), fc.nat(3)).map(([p, flips, params, at]) => {
      const cased = [...p].map((c, i) => (flips[i] ? c.toUpperCase() : c)).join('');
      const slashes = [...cased.matchAll(/\//g)].map((m) => m.index);
      const cut = slashes[Math.min(at, slashes.length - 1)];
      return { original: p, spelt: params === '' || cut === 0 ? cased : cased.slice(0, cut) + params + cased.slice(cut) };
    });
    fc.assert(
      fc.property(spelling, ({ original, spelt }) => {
        const m = matchRoute(config, 'GET', normalizePath(spelt)!);
        if (m.kind !== 'ambiguous') assert.equal(describeMatch(m), describeMatch(matchRoute(config, 'GET', original)), spelt);
      }),
      settings(2000, 15),
    );
  });
});
