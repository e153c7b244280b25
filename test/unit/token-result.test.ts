/** The cached result's flat encoding: what goes in comes out, and nothing can shift a field. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { appendIdentityValues, denialOf, encodeResult, expiresAtOf, hasScopes, isUnavailable, scopesOf } from '../../src/cache/token-result.js';

const names = (...list: string[]) => list.map((name) => ({ name }));

describe('token result encoding', () => {
  test('denial and expiry round-trip, including large clock values', () => {
    for (const at of [0, 1, 255, 256, 65_536, 2 ** 31 + 5, 2 ** 40 + 123]) {
      const r = encodeResult('token_inactive', at, [], []);
      assert.equal(expiresAtOf(r), at);
      assert.equal(denialOf(r), 'token_inactive');
    }
    assert.equal(denialOf(encodeResult(null, 10, [], [])), null);
    assert.equal(expiresAtOf(encodeResult(null, -50, [], [])), 0, 'a time before the clock origin is 0');
  });

  test('every denial survives, and which ones are "unavailable"', () => {
    const all = ['validator_rejected', 'token_inactive', 'token_expired', 'token_not_yet_valid', 'token_claims_malformed', 'validator_timeout', 'validator_unreachable', 'validator_server_error', 'validator_throttled', 'validator_bad_answer'] as const;
    for (const denial of all) assert.equal(denialOf(encodeResult(denial, 1, [], [])), denial);
    assert.deepEqual(all.filter((d) => isUnavailable(d)), ['validator_timeout', 'validator_unreachable', 'validator_server_error', 'validator_throttled', 'validator_bad_answer']);
    assert.equal(isUnavailable(null), false);
  });

  test('scopes match whole tokens only', () => {
    const r = encodeResult(null, 1, ['orders:read', 'orders:write', 'profile'], ['u1']);
    assert.equal(hasScopes(r, ['orders:read']), true);
    assert.equal(hasScopes(r, ['profile', 'orders:write']), true);
    assert.equal(hasScopes(r, ['orders']), false, 'a prefix is not a scope');
    assert.equal(hasScopes(r, ['read']), false, 'a suffix is not a scope');
    assert.equal(hasScopes(r, ['u1']), false, 'identity values are not scopes');
    assert.equal(hasScopes(r, ['orders:read', 'admin']), false);
    assert.equal(hasScopes(encodeResult(null, 1, [], ['orders:read']), ['orders:read']), false);
    assert.deepEqual(scopesOf(r), ['orders:read', 'orders:write', 'profile']);
  });

  test('scope tokens that are not RFC 6749 scope tokens are dropped, so no field can shift', () => {
    const r = encodeResult(null, 1, ['good', 'evil\nX-User-Id', 'with"quote', 'öh'], ['alice']);
    assert.deepEqual(scopesOf(r), ['good']);
    const headers: string[] = [];
    appendIdentityValues(headers, r, 0, names('x-user'));
    assert.deepEqual(headers, ['x-user', 'alice']);
  });

  test('identity values by plan offset; missing values are skipped; empty values are kept', () => {
    const r = encodeResult(null, 1, ['s'], ['a', undefined, '', 'd', 'e']);
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
    appendIdentityValues(none, encodeResult(null, 1, [], []), 0, names('x'));
    assert.deepEqual(none, []);
  });

  test('UTF-8 byte strings pass through unchanged', () => {
    const bytes = Buffer.from('öhlundi', 'utf8').toString('latin1');
    const headers: string[] = [];
    appendIdentityValues(headers, encodeResult(null, 1, [], [bytes]), 0, names('x-last'));
    assert.equal(Buffer.from(headers[1]!, 'latin1').toString('utf8'), 'öhlundi');
  });
});
