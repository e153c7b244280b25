/**
 * Identity headers (SPEC section 5): JSONPath into the validator's 200 body, rendered as UTF-8
 * bytes or RFC 3986 percent-encoding, never with CR, LF or NUL.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SEED_USER_INFO } from '../fixtures/seed-endpoint.js';
import {
  compileIdentityPlan,
  normalizeJsonPath,
  renderIdentity,
  type DroppedIdentityHeader,
  type IdentityEncoding,
  type IdentityFieldProblem,
  type IdentityPlan,
} from '../../src/identity/plan.js';

function plan(headers: Record<string, string>, encoding: IdentityEncoding = 'utf8'): IdentityPlan {
  const problems: IdentityFieldProblem[] = [];
  const compiled = compileIdentityPlan(0, headers, encoding, 4096, problems);
  assert.deepEqual(problems, []);
  return compiled;
}

function render(headers: Record<string, string>, body: unknown, encoding: IdentityEncoding = 'utf8') {
  const dropped: DroppedIdentityHeader[] = [];
  const out = renderIdentity(plan(headers, encoding), body, dropped);
  return { out: [...out], dropped };
}

/** The bytes a latin1 byte-string stands for, read as UTF-8. */
const utf8Of = (byteString: string): string => Buffer.from(byteString, 'latin1').toString('utf8');

describe('normalizeJsonPath', () => {
  const cases: [string, string][] = [
    ['uid', '$.uid'],
    ['$.email', '$.email'],
    ['$', '$'],
    ["['a b']", "$['a b']"],
    ['[0]', '$[0]'],
    ['accounts[*].uid', '$.accounts[*].uid'],
    ['  uid  ', '$.uid'],
    ['$.accounts[*].uid', '$.accounts[*].uid'],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(normalizeJsonPath(input), expected);
    });
  }
});

describe('compileIdentityPlan', () => {
  test('keeps index, encoding and header names in order', () => {
    const problems: IdentityFieldProblem[] = [];
    const compiled = compileIdentityPlan(3, { 'X-User-Id': 'uid', 'x-user-email': '$.email' }, 'percent', 4096, problems);
    assert.deepEqual(problems, []);
    assert.equal(compiled.index, 3);
    assert.equal(compiled.encoding, 'percent');
    assert.deepEqual(compiled.headers.map((h) => h.name), ['X-User-Id', 'x-user-email']);
    assert.equal(Object.isFrozen(compiled), true);
    assert.equal(Object.isFrozen(compiled.headers), true);
  });

  for (const bad of ['$[', '$.a[?', '$..', 'a b', "$['unclosed"]) {
    test(`reports a problem for the invalid path ${JSON.stringify(bad)}`, () => {
      const problems: IdentityFieldProblem[] = [];
      const compiled = compileIdentityPlan(0, { 'X-Good': 'uid', 'X-Bad': bad }, 'utf8', 4096, problems);
      assert.equal(problems.length, 1);
      assert.equal(problems[0].header, 'X-Bad');
      assert.match(problems[0].message, /^is not a valid RFC 9535 JSONPath: /);
      assert.deepEqual(compiled.headers.map((h) => h.name), ['X-Good']);
    });
  }
});

describe('renderIdentity against the seed sample body', () => {
  test('uid', () => {
    assert.deepEqual(render({ 'X-User-Id': 'uid' }, SEED_USER_INFO), { out: ['X-User-Id', 'abcd23456'], dropped: [] });
  });
  test('$.email', () => {
    assert.deepEqual(render({ 'X-User-Email': '$.email' }, SEED_USER_INFO).out, ['X-User-Email', 'jason.borne@marketplace.se']);
  });
  test('$.accounts[*].uid joined with ","', () => {
    assert.deepEqual(render({ 'X-Account-Ids': '$.accounts[*].uid' }, SEED_USER_INFO).out, ['X-Account-Ids', '100004567,100004444']);
  });
  test('a one-element array member', () => {
    assert.deepEqual(render({ 'X-Phone': '$.accontManagerPhone[0]' }, SEED_USER_INFO).out, ['X-Phone', '034534534']);
  });
  test('a missing path: header absent, nothing dropped', () => {
    assert.deepEqual(render({ 'X-Nope': '$.doesNotExist', 'X-User-Id': 'uid' }, SEED_USER_INFO), { out: ['X-User-Id', 'abcd23456'], dropped: [] });
  });
  test('a wildcard matching nothing: header absent', () => {
    assert.deepEqual(render({ 'X-None': '$.accounts[*].missing' }, SEED_USER_INFO).out, []);
  });
  test('boolean value', () => {
    assert.deepEqual(render({ 'X-Active': 'active' }, SEED_USER_INFO).out, ['X-Active', 'true']);
  });
  test('number values', () => {
    assert.deepEqual(render({ 'X-N': 'n', 'X-F': 'f', 'X-Z': 'z' }, { n: 42, f: 1.5, z: 0 }).out, ['X-N', '42', 'X-F', '1.5', 'X-Z', '0']);
  });
  test('false is sent as "false"', () => {
    assert.deepEqual(render({ 'X-B': 'b' }, { b: false }).out, ['X-B', 'false']);
  });
  test('object value -> JSON text', () => {
    assert.deepEqual(render({ 'X-Account': '$.accounts[0]' }, SEED_USER_INFO).out, ['X-Account', '{"name":"Adam Phils","uid":"100004567"}']);
  });
  test('array value -> JSON text', () => {
    assert.deepEqual(render({ 'X-Phones': 'accontManagerPhone' }, SEED_USER_INFO).out, ['X-Phones', '["034534534"]']);
  });
  test('several headers keep their configured order and case', () => {
    const { out } = render({ 'x-lower': 'uid', 'X-MiXeD-CaSe': 'email', 'X-UPPER': 'firstName' }, SEED_USER_INFO);
    assert.deepEqual(out, ['x-lower', 'abcd23456', 'X-MiXeD-CaSe', 'jason.borne@marketplace.se', 'X-UPPER', 'Jason']);
  });
  test('no body (non-JSON 200): nothing', () => {
    assert.deepEqual(render({ 'X-User-Id': 'uid' }, undefined), { out: [], dropped: [] });
  });
});

describe('renderIdentity: utf8 encoding', () => {
  test("öhlundi becomes a latin1 byte-string of its UTF-8 bytes", () => {
    const { out } = render({ 'X-Last-Name': 'lastName' }, SEED_USER_INFO);
    assert.equal(out[0], 'X-Last-Name');
    const value = out[1];
    assert.equal(value, 'Ã¶hlundi');
    assert.equal(utf8Of(value), 'öhlundi');
    assert.deepEqual(Buffer.from(value, 'latin1'), Buffer.from([0xc3, 0xb6, 0x68, 0x6c, 0x75, 0x6e, 0x64, 0x69]));
  });
  test('several non-ASCII matches joined with ","', () => {
    const { out } = render({ 'X-Account-Names': '$.accounts[*].name' }, SEED_USER_INFO);
    assert.equal(utf8Of(out[1]), 'Adam Phils,Duffy woöf');
  });
  test('astral characters (4 UTF-8 bytes)', () => {
    const { out } = render({ 'X-E': 'e' }, { e: 'a😀' });
    assert.deepEqual(Buffer.from(out[1], 'latin1'), Buffer.from('a😀', 'utf8'));
  });
  test('ASCII passes unchanged, spaces and tabs included', () => {
    assert.deepEqual(render({ 'X-A': 'a' }, { a: "a b\tc!'()*" }).out, ['X-A', "a b\tc!'()*"]);
  });
});

describe('renderIdentity: percent encoding (RFC 3986, upper-case hex)', () => {
  const cases: [string, string][] = [
    ['öhlundi', '%C3%B6hlundi'],
    ['a b', 'a%20b'],
    ["!'()*", '%21%27%28%29%2A'],
    ['a,b', 'a%2Cb'],
    ['a+b/c?d', 'a%2Bb%2Fc%3Fd'],
    ['unreserved-._~AZaz09', 'unreserved-._~AZaz09'],
    ['😀', '%F0%9F%98%80'],
    ['100%', '100%25'],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} -> ${expected}`, () => {
      assert.deepEqual(render({ 'X-V': 'v' }, { v: input }, 'percent').out, ['X-V', expected]);
    });
  }
  test('each value encoded, then joined with "," (the comma is not encoded)', () => {
    assert.deepEqual(render({ 'X-Account-Names': '$.accounts[*].name' }, SEED_USER_INFO, 'percent').out, ['X-Account-Names', 'Adam%20Phils,Duffy%20wo%C3%B6f']);
  });
  test('a comma inside a value stays distinguishable from the separator', () => {
    assert.deepEqual(render({ 'X-V': '$.v[*]' }, { v: ['a,b', 'c'] }, 'percent').out, ['X-V', 'a%2Cb,c']);
  });
  test('object value: its JSON text is encoded', () => {
    assert.deepEqual(render({ 'X-O': 'o' }, { o: { a: 1 } }, 'percent').out, ['X-O', '%7B%22a%22%3A1%7D']);
  });
});

describe('renderIdentity: values that are never sent', () => {
  for (const encoding of ['utf8', 'percent'] as const) {
    for (const [label, bad] of [['CR', 'a\rb'], ['LF', 'a\nb'], ['CRLF injection', 'x\r\nX-Admin: true'], ['NUL', 'a\u0000b'], ['DEL', 'a\u007fb'], ['BEL', 'a\u0007b']] as const) {
      test(`${encoding}: a value with ${label} is dropped (control_character)`, () => {
        assert.deepEqual(render({ 'X-Bad': 'bad', 'X-Good': 'good' }, { bad, good: 'ok' }, encoding), {
          out: ['X-Good', 'ok'],
          dropped: [{ header: 'X-Bad', reason: 'control_character' }],
        });
      });
    }
    test(`${encoding}: one bad match among several drops the whole header`, () => {
      assert.deepEqual(render({ 'X-L': '$.l[*]' }, { l: ['fine', 'bad\n'] }, encoding), { out: [], dropped: [{ header: 'X-L', reason: 'control_character' }] });
    });
    test(`${encoding}: a lone surrogate is dropped (unencodable)`, () => {
      assert.deepEqual(render({ 'X-S': 's' }, { s: 'a\ud800b' }, encoding), { out: [], dropped: [{ header: 'X-S', reason: 'unencodable' }] });
    });
    test(`${encoding}: a lone low surrogate at the end is dropped (unencodable)`, () => {
      assert.deepEqual(render({ 'X-S': 's' }, { s: 'ab\udc00' }, encoding), { out: [], dropped: [{ header: 'X-S', reason: 'unencodable' }] });
    });
  }
  test('utf8: a newline inside an object value is escaped by JSON, so it is sent', () => {
    assert.deepEqual(render({ 'X-O': 'o' }, { o: { a: 'x\ny' } }).out, ['X-O', '{"a":"x\\ny"}']);
  });
  test('utf8: a horizontal tab is allowed', () => {
    assert.deepEqual(render({ 'X-T': 't' }, { t: 'a\tb' }).out, ['X-T', 'a\tb']);
  });
});

describe('maxIdentityValueBytes', () => {
  const bounded = (encoding: IdentityEncoding) => compileIdentityPlan(0, { 'X-Name': 'name', 'X-Uid': 'uid' }, encoding, 8, []);
  test('a value of exactly the bound is sent; one byte more is dropped as too_large, the others still sent', () => {
    const dropped: DroppedIdentityHeader[] = [];
    assert.deepEqual([...renderIdentity(bounded('utf8'), { name: '12345678', uid: 'u' }, dropped)], ['X-Name', '12345678', 'X-Uid', 'u']);
    assert.deepEqual(dropped, []);
    assert.deepEqual([...renderIdentity(bounded('utf8'), { name: '123456789', uid: 'u' }, dropped)], ['X-Uid', 'u']);
    assert.deepEqual(dropped, [{ header: 'X-Name', reason: 'too_large' }]);
  });
  test('the bound is in bytes as sent: UTF-8 bytes, or the percent-encoded text', () => {
    const dropped: DroppedIdentityHeader[] = [];
    assert.deepEqual([...renderIdentity(bounded('utf8'), { name: 'öööö' }, dropped)], ['X-Name', Buffer.from('öööö').toString('latin1')]);
    assert.deepEqual([...renderIdentity(bounded('utf8'), { name: 'öööö5' }, dropped)], []);
    assert.deepEqual([...renderIdentity(bounded('percent'), { name: 'öö' }, dropped)], []);
    assert.equal(dropped.length, 2);
  });
});
