/** The cached result's flat encoding: what goes in comes out, and nothing can shift a field. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  appendIdentityValues, claimsOf, clockNow, denialOf, encodeResult, expiresAtOf, fromPortable, hasScopes, scopesOf, staleUntilOf, toPortable,
  type ResultParts,
} from '../../src/cache/token-result.js';
import { REASON_IDS, REASONS, reasonOfStoredCode, type StoredReason } from '../../src/pipeline/reasons.js';

const names = (...list: string[]) => list.map((name) => ({ name }));
const DIGEST = 'abcdefgh';

function result(parts: Partial<ResultParts> = {}) {
  return encodeResult({ denial: null, expiresAt: 1, staleUntil: 1, scopes: [], identity: [], claims: '', ...parts });
}

/** Every reason the judge can store, straight from the reason table. */
const STORED = REASON_IDS.filter((id): id is StoredReason => 'stored' in REASONS[id]);

describe('token result encoding', () => {
  test('denial and expiry round-trip, including large clock values', () => {
    for (const at of [0, 1, 255, 256, 65_536, 2 ** 31 + 5, 2 ** 40 + 123]) {
      const r = result({ denial: 'token_inactive', expiresAt: at, staleUntil: at });
      assert.equal(expiresAtOf(r), at);
      assert.equal(denialOf(r), 'token_inactive');
    }
    assert.equal(denialOf(result()), null);
    assert.equal(expiresAtOf(result({ expiresAt: -50, staleUntil: -50 })), 0, 'a time before the clock origin is 0');
  });

  test('scopes match whole tokens only', () => {
    const r = result({ scopes: ['orders:read', 'orders:write', 'profile'], identity: ['u1'] });
    assert.equal(hasScopes(r, ['orders:read']), true);
    assert.equal(hasScopes(r, ['profile', 'orders:write']), true);
    assert.equal(hasScopes(r, ['orders']), false, 'a prefix is not a scope');
    assert.equal(hasScopes(r, ['read']), false, 'a suffix is not a scope');
    assert.equal(hasScopes(r, ['u1']), false, 'identity values are not scopes');
    assert.equal(hasScopes(r, ['orders:read', 'admin']), false);
    assert.equal(hasScopes(result({ identity: ['orders:read'] }), ['orders:read']), false);
    assert.deepEqual(scopesOf(r), ['orders:read', 'orders:write', 'profile']);
  });

  test('scopes are not read out of the kept claims', () => {
    const r = result({ claims: '{"scope":"admin"} admin', scopes: ['profile'] });
    assert.equal(hasScopes(r, ['admin']), false);
    assert.equal(hasScopes(r, ['profile']), true);
  });

  test('scope tokens that are not RFC 6749 scope tokens are dropped, so no field can shift', () => {
    const r = result({ scopes: ['good', 'evil\nX-User-Id', 'with"quote', 'öh'], identity: ['alice'] });
    assert.equal(hasScopes(r, ['good']), true);
    for (const dropped of ['evil', 'X-User-Id', 'with"quote', 'öh']) assert.equal(hasScopes(r, [dropped]), false, dropped);
    const headers: string[] = [];
    appendIdentityValues(headers, r, 0, names('x-user'));
    assert.deepEqual(headers, ['x-user', 'alice']);
  });

  test('identity values by plan offset; missing values are skipped; empty values are kept', () => {
    const r = result({ scopes: ['s'], identity: ['a', undefined, '', 'd', 'e'], claims: '{"a":"\n"}' });
    const first: string[] = [];
    appendIdentityValues(first, r, 0, names('h1', 'h2', 'h3'));
    assert.deepEqual(first, ['h1', 'a', 'h3', '']);
    const second: string[] = [];
    appendIdentityValues(second, r, 3, names('p1', 'p2'));
    assert.deepEqual(second, ['p1', 'd', 'p2', 'e']);
    const beyond: string[] = [];
    appendIdentityValues(beyond, r, 5, names('x'));
    assert.deepEqual(beyond, []);
    const none: string[] = [];
    appendIdentityValues(none, result(), 0, names('x'));
    assert.deepEqual(none, []);
  });

  test('kept claims come back byte for byte, newlines included', () => {
    const claims = Buffer.from('{\n  "lastName": "öhlundi"\n}', 'utf8').toString('latin1');
    const r = result({ claims, identity: ['v'] });
    assert.equal(claimsOf(r), claims);
    assert.equal(claimsOf(result()), '');
    const headers: string[] = [];
    appendIdentityValues(headers, r, 0, names('x'));
    assert.deepEqual(headers, ['x', 'v']);
  });

  test('UTF-8 byte strings pass through unchanged', () => {
    const bytes = Buffer.from('öhlundi', 'utf8').toString('latin1');
    const headers: string[] = [];
    appendIdentityValues(headers, result({ identity: [bytes] }), 0, names('x-last'));
    assert.equal(Buffer.from(headers[1], 'latin1').toString('utf8'), 'öhlundi');
  });

  test('staleUntil is kept, and never before expiresAt', () => {
    assert.equal(staleUntilOf(result({ expiresAt: 1000, staleUntil: 5000 })), 5000);
    assert.equal(staleUntilOf(result({ expiresAt: 1000, staleUntil: 10 })), 1000);
  });
});

describe('a reason missing from the cache encoding can never read back as valid (regression: finding 2 of "One decision core")', () => {
  test('the reason table gives every judged reason its own stored code', () => {
    const codes = STORED.map((reason) => REASONS[reason].stored);
    assert.equal(new Set(codes).size, codes.length);
    for (const code of codes) assert.ok(code >= 1 && code <= 255);
    assert.ok(STORED.includes('token_inactive') && STORED.includes('not_an_introspection_answer'));
  });

  for (const reason of STORED) {
    test(`${reason} round-trips through memory and Redis encodings as the same denial`, () => {
      const now = clockNow();
      const local = result({ denial: reason, expiresAt: now + 5_000, staleUntil: now + 5_000 });
      assert.equal(denialOf(local), reason);
      const back = fromPortable(toPortable(local, DIGEST), DIGEST);
      assert.ok(back !== null);
      assert.equal(denialOf(back), reason);
    });
  }

  test('a code no row claims, read back from Redis, is a miss', () => {
    const now = clockNow();
    const portable = toPortable(result({ denial: 'token_inactive', expiresAt: now + 5_000, staleUntil: now + 5_000 }), DIGEST);
    const head = portable.indexOf(DIGEST) + DIGEST.length;
    for (let code = 1; code < 256; code++) {
      if (reasonOfStoredCode(code) !== undefined) continue;
      const forged = portable.slice(0, head) + String.fromCharCode(code) + portable.slice(head + 1);
      assert.equal(fromPortable(forged, DIGEST), null, `code ${code}`);
    }
  });
});

describe('the portable (Redis) form', () => {
  test('carries epoch times and comes back on the local clock, everything else intact', () => {
    const now = clockNow();
    const local = result({ expiresAt: now + 30_000, staleUntil: now + 90_000, scopes: ['a', 'b'], identity: ['x', undefined, 'z'], claims: '{"sub":"s"}' });
    const portable = toPortable(local, DIGEST);
    const back = fromPortable(portable, DIGEST)!;
    assert.equal(back, local);
    assert.ok(Math.abs(expiresAtOf(back) - (now + 30_000)) < 1_000);
  });

  test('a result written for another configuration (another digest) is a miss', () => {
    const portable = toPortable(result({ identity: ['u-1'] }), DIGEST);
    assert.equal(fromPortable(portable, 'ABCDEFGH'), null);
  });

  test('anything that is not a portable result of this format is a miss', () => {
    assert.equal(fromPortable('short', DIGEST), null);
    assert.equal(fromPortable(`\xff${'x'.repeat(40)}`, DIGEST), null);
    const portable = toPortable(result(), DIGEST);
    assert.equal(fromPortable(`tg\x01${portable.slice(3)}`, DIGEST), null, 'an older format');
    assert.equal(fromPortable(portable.slice(0, 20), DIGEST), null, 'cut short');
  });
});
