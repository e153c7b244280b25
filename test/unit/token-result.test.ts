/** The cached result's flat encoding: what goes in comes out, and nothing can shift a field. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { appendIdentityValues, clockNow, denialOf, encodeResult, expiresAtOf, fromPortable, hasScopes, isUnavailable, staleUntilOf, toPortable } from '../../src/cache/token-result.js';

const names = (...list: string[]) => list.map((name) => ({ name }));

describe('token result encoding', () => {
  test('denial and expiry round-trip, including large clock values', () => {
    for (const at of [0, 1, 255, 256, 65_536, 2 ** 31 + 5, 2 ** 40 + 123]) {
      const r = encodeResult('token_inactive', at, at, [], []);
      assert.equal(expiresAtOf(r), at);
      assert.equal(denialOf(r), 'token_inactive');
    }
    assert.equal(denialOf(encodeResult(null, 10, 10, [], [])), null);
    assert.equal(expiresAtOf(encodeResult(null, -50, -50, [], [])), 0, 'a time before the clock origin is 0');
  });

  test('every denial survives, and which ones are "unavailable"', () => {
    const all = ['validator_rejected', 'token_inactive', 'token_expired', 'token_not_yet_valid', 'token_claims_malformed', 'validator_timeout', 'validator_unreachable', 'validator_server_error', 'validator_throttled', 'validator_bad_answer', 'validator_circuit_open', 'validator_overloaded'] as const;
    for (const denial of all) assert.equal(denialOf(encodeResult(denial, 1, 1, [], [])), denial);
    assert.deepEqual(all.filter((d) => isUnavailable(d)), ['validator_timeout', 'validator_unreachable', 'validator_server_error', 'validator_throttled', 'validator_bad_answer', 'validator_circuit_open', 'validator_overloaded']);
    assert.equal(isUnavailable(null), false);
  });

  test('scopes match whole tokens only', () => {
    const r = encodeResult(null, 1, 1, ['orders:read', 'orders:write', 'profile'], ['u1']);
    assert.equal(hasScopes(r, ['orders:read']), true);
    assert.equal(hasScopes(r, ['profile', 'orders:write']), true);
    assert.equal(hasScopes(r, ['orders']), false, 'a prefix is not a scope');
    assert.equal(hasScopes(r, ['read']), false, 'a suffix is not a scope');
    assert.equal(hasScopes(r, ['u1']), false, 'identity values are not scopes');
    assert.equal(hasScopes(r, ['orders:read', 'admin']), false);
    assert.equal(hasScopes(encodeResult(null, 1, 1, [], ['orders:read']), ['orders:read']), false);
  });

  test('scope tokens that are not RFC 6749 scope tokens are dropped, so no field can shift', () => {
    const r = encodeResult(null, 1, 1, ['good', 'evil\nX-User-Id', 'with"quote', 'öh'], ['alice']);
    assert.equal(hasScopes(r, ['good']), true);
    for (const dropped of ['evil', 'X-User-Id', 'with"quote', 'öh']) assert.equal(hasScopes(r, [dropped]), false, dropped);
    const headers: string[] = [];
    appendIdentityValues(headers, r, 0, names('x-user'));
    assert.deepEqual(headers, ['x-user', 'alice']);
  });

  test('identity values by plan offset; missing values are skipped; empty values are kept', () => {
    const r = encodeResult(null, 1, 1, ['s'], ['a', undefined, '', 'd', 'e']);
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
    appendIdentityValues(none, encodeResult(null, 1, 1, [], []), 0, names('x'));
    assert.deepEqual(none, []);
  });

  test('UTF-8 byte strings pass through unchanged', () => {
    const bytes = Buffer.from('öhlundi', 'utf8').toString('latin1');
    const headers: string[] = [];
    appendIdentityValues(headers, encodeResult(null, 1, 1, [], [bytes]), 0, names('x-last'));
    assert.equal(Buffer.from(headers[1]!, 'latin1').toString('utf8'), 'öhlundi');
  });

  test('staleUntil is kept, and never before expiresAt', () => {
    assert.equal(staleUntilOf(encodeResult(null, 1000, 5000, [], [])), 5000);
    assert.equal(staleUntilOf(encodeResult(null, 1000, 10, [], [])), 1000);
  });

  test('the portable form carries epoch times and comes back on the local clock, everything else intact', () => {
    const now = clockNow();
    const local = encodeResult(null, now + 30_000, now + 90_000, ['a', 'b'], ['x', undefined, 'z']);
    const portable = toPortable(local);
    assert.ok(Math.abs(readEpoch(portable) - (Date.now() + 30_000)) < 1_000, 'epoch ms in the portable form');
    const back = fromPortable(portable)!;
    assert.equal(back, local);
    assert.equal(fromPortable('short'), null);
    assert.equal(fromPortable('\xff' + 'x'.repeat(20)), null);
  });
});

/** The expiry of a portable result, read as the encoding defines it (bytes 1..6, big-endian). */
function readEpoch(text: string): number {
  let at = 0;
  for (let i = 1; i < 7; i++) at = at * 256 + text.charCodeAt(i);
  return at;
}
