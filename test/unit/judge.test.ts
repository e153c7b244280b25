/**
 * judgeAnswer: the seed's rule (200 is valid, anything else is not) and SPEC section 1's
 * RFC 7662 safety net (`active`, `exp`, `nbf`), as a pure function of the answer and the clock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RequireActive } from '../../src/config/compile.js';
import { Document } from '@xmldom/xmldom';
import { judgeAnswer, MAX_XML_ANSWER_BYTES, type JudgeOptions, type Judgement, type ValidatorAnswer } from '../../src/validators/judge.js';

const NOW = 1_700_000_000;
const AUTO: JudgeOptions = { style: 'bearer', requireActive: 'auto', clockSkewSeconds: 30 };
const INTROSPECTION: JudgeOptions = { style: 'rfc7662', requireActive: 'auto', clockSkewSeconds: 30 };

function answer(status: number, body?: string | null, mediaType = 'application/json'): ValidatorAnswer {
  return { status, mediaType, body: body === undefined || body === null ? null : Buffer.from(body, 'utf8') };
}

/** A judgement without the kept body text (checked on its own below). */
type Seen = Exclude<Judgement, { kind: 'valid' }> | Omit<Extract<Judgement, { kind: 'valid' }>, 'claimsBytes'>;

function judge(a: ValidatorAnswer, options: JudgeOptions = AUTO, now = NOW): Seen {
  const j = judgeAnswer(a, options, now);
  if (j.kind !== 'valid') return j;
  const { claimsBytes: _bytes, ...rest } = j;
  return rest;
}

function judgeJson(value: unknown, options: JudgeOptions = AUTO, now = NOW): Seen {
  return judge(answer(200, JSON.stringify(value)), options, now);
}

function valid(j: Seen): Extract<Seen, { kind: 'valid' }> {
  assert.equal(j.kind, 'valid', `expected valid, got ${JSON.stringify(j)}`);
  return j;
}

describe('judgeAnswer: status classes', () => {
  test('200 is valid', () => {
    assert.deepEqual(judge(answer(200, '{"uid":"u1"}')), { kind: 'valid', claims: { uid: 'u1' }, exp: undefined, active: undefined, scopes: [] });
  });

  for (const status of [201, 202, 203, 204, 206, 299]) {
    test(`${status} (other 2xx) is invalid: validator_rejected`, () => {
      assert.deepEqual(judge(answer(status, '{"active":true}')), { kind: 'invalid', reason: 'validator_rejected' });
    });
  }
  for (const status of [100, 300, 301, 302, 303, 304, 307, 308]) {
    test(`${status} is invalid: validator_rejected (redirects are never success)`, () => {
      assert.deepEqual(judge(answer(status, null)), { kind: 'invalid', reason: 'validator_rejected' });
    });
  }
  for (const status of [400, 401, 403, 404, 405, 410, 418, 499]) {
    test(`${status} is invalid: validator_rejected`, () => {
      assert.deepEqual(judge(answer(status, '{"errors":[]}')), { kind: 'invalid', reason: 'validator_rejected' });
    });
  }
  test('429 is unavailable: validator_throttled', () => {
    assert.deepEqual(judge(answer(429, null)), { kind: 'unavailable', reason: 'validator_throttled' });
  });
  for (const status of [500, 501, 502, 503, 504, 599]) {
    test(`${status} is unavailable: validator_server_error`, () => {
      assert.deepEqual(judge(answer(status, null)), { kind: 'unavailable', reason: 'validator_server_error' });
    });
  }
});

describe('judgeAnswer: 200 body shapes (requireActive auto)', () => {
  const cases: { name: string; answer: ValidatorAnswer; expected: Seen }[] = [
    { name: 'no body', answer: answer(200, null), expected: { kind: 'valid', claims: undefined, exp: undefined, active: undefined, scopes: [] } },
    { name: 'empty body', answer: answer(200, ''), expected: { kind: 'valid', claims: undefined, exp: undefined, active: undefined, scopes: [] } },
    { name: 'non-JSON text/plain', answer: answer(200, 'OK', 'text/plain'), expected: { kind: 'valid', claims: undefined, exp: undefined, active: undefined, scopes: [] } },
    { name: 'JSON sent as text/plain is read: active false', answer: answer(200, '{"active":false}', 'text/plain'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'JSON sent as text/json is read: active false', answer: answer(200, '{"active":false}', 'text/json'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'JSON sent as text/html is read: active false', answer: answer(200, ' \n{"active":false}', 'text/html'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'a byte-order mark and no content type: active false is read', answer: { status: 200, mediaType: '', body: Buffer.from('\ufeff{"active":false}') }, expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'a byte-order mark with application/json: active true is valid', answer: { status: 200, mediaType: 'application/json', body: Buffer.from('\ufeff{"active":true}') }, expected: { kind: 'valid', claims: { active: true }, exp: undefined, active: true, scopes: [] } },
    { name: 'JSON without active', answer: answer(200, '{"uid":"u1"}'), expected: { kind: 'valid', claims: { uid: 'u1' }, exp: undefined, active: undefined, scopes: [] } },
    { name: '{"active":true}', answer: answer(200, '{"active":true}'), expected: { kind: 'valid', claims: { active: true }, exp: undefined, active: true, scopes: [] } },
    { name: '{"active":false}', answer: answer(200, '{"active":false}'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: '{"active":"true"} (a string is not true)', answer: answer(200, '{"active":"true"}'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: '{"active":1}', answer: answer(200, '{"active":1}'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: '{"active":null}', answer: answer(200, '{"active":null}'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'JSON array', answer: answer(200, '[{"active":false}]'), expected: { kind: 'valid', claims: [{ active: false }], exp: undefined, active: undefined, scopes: [] } },
    { name: 'JSON string', answer: answer(200, '"hello"'), expected: { kind: 'valid', claims: 'hello', exp: undefined, active: undefined, scopes: [] } },
    { name: 'declared application/json, broken JSON', answer: answer(200, '{"active":tr'), expected: { kind: 'unavailable', reason: 'validator_bad_answer' } },
    { name: 'declared +json, broken JSON', answer: answer(200, '{', 'application/problem+json'), expected: { kind: 'unavailable', reason: 'validator_bad_answer' } },
    { name: 'undeclared media type, broken JSON: unreadable', answer: answer(200, '{"active":tr', ''), expected: { kind: 'unavailable', reason: 'validator_bad_answer' } },
    { name: 'text/plain, broken JSON-looking body: unreadable, never valid', answer: answer(200, '[{"active":false', 'text/plain'), expected: { kind: 'unavailable', reason: 'validator_bad_answer' } },
    { name: 'undeclared media type, JSON is read', answer: answer(200, '{"active":false}', ''), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'application/problem+json is JSON', answer: answer(200, '{"active":false}', 'application/problem+json'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'application/token-introspection+jwt is not JSON', answer: answer(200, 'eyJ.a.b', 'application/token-introspection+jwt'), expected: { kind: 'valid', claims: undefined, exp: undefined, active: undefined, scopes: [] } },
    { name: 'application/vnd.x+json is JSON', answer: answer(200, '{"uid":"u"}', 'application/vnd.x+json'), expected: { kind: 'valid', claims: { uid: 'u' }, exp: undefined, active: undefined, scopes: [] } },
    { name: 'UTF-8 body', answer: answer(200, '{"lastName":"öhlundi"}'), expected: { kind: 'valid', claims: { lastName: 'öhlundi' }, exp: undefined, active: undefined, scopes: [] } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(judge(c.answer), c.expected);
    });
  }
});

describe('judgeAnswer: requireActive', () => {
  const t = (requireActive: RequireActive): JudgeOptions => ({ style: 'bearer', requireActive, clockSkewSeconds: 30 });

  test("'true': object without active is invalid token_inactive", () => {
    assert.deepEqual(judgeJson({ uid: 'u' }, t('true')), { kind: 'invalid', reason: 'token_inactive' });
  });
  test("'true': non-JSON body is invalid token_inactive", () => {
    assert.deepEqual(judge(answer(200, 'OK', 'text/plain'), t('true')), { kind: 'invalid', reason: 'token_inactive' });
  });
  test("'true': no body is invalid token_inactive", () => {
    assert.deepEqual(judge(answer(200, null), t('true')), { kind: 'invalid', reason: 'token_inactive' });
  });
  test("'true': active true is valid", () => {
    assert.equal(valid(judgeJson({ active: true }, t('true'))).active, true);
  });
  test("'true': active \"true\" is invalid", () => {
    assert.deepEqual(judgeJson({ active: 'true' }, t('true')), { kind: 'invalid', reason: 'token_inactive' });
  });
  test("'false': active false is still valid", () => {
    assert.deepEqual(judgeJson({ active: false, uid: 'u' }, t('false')), { kind: 'valid', claims: { active: false, uid: 'u' }, exp: undefined, active: false, scopes: [] });
  });
  test("'false': active \"no\" is valid, active reported as undefined", () => {
    assert.equal(valid(judgeJson({ active: 'no' }, t('false'))).active, undefined);
  });
  test("'false': exp is still enforced", () => {
    assert.deepEqual(judgeJson({ active: false, exp: NOW - 3600 }, t('false')), { kind: 'invalid', reason: 'token_expired' });
  });
  test("'true': a broken declared-JSON body stays unavailable (not judged invalid)", () => {
    assert.deepEqual(judge(answer(200, 'nope'), t('true')), { kind: 'unavailable', reason: 'validator_bad_answer' });
  });
});

describe('judgeAnswer: exp and nbf (clock skew 30 s)', () => {
  const cases: { name: string; claims: Record<string, unknown>; expected: string }[] = [
    { name: 'exp in the future', claims: { exp: NOW + 60 }, expected: 'valid' },
    { name: 'exp in the past beyond skew', claims: { exp: NOW - 31 }, expected: 'token_expired' },
    { name: 'exp long in the past', claims: { exp: NOW - 86_400 }, expected: 'token_expired' },
    { name: 'exp in the past within skew', claims: { exp: NOW - 29 }, expected: 'valid' },
    { name: 'exp exactly at now - skew (expired: now must be before exp + skew)', claims: { exp: NOW - 30 }, expected: 'token_expired' },
    { name: 'exp one second after now - skew', claims: { exp: NOW - 30 + 1 }, expected: 'valid' },
    { name: 'exp now', claims: { exp: NOW }, expected: 'valid' },
    { name: 'nbf in the future beyond skew', claims: { nbf: NOW + 31 }, expected: 'token_not_yet_valid' },
    { name: 'nbf in the future within skew', claims: { nbf: NOW + 29 }, expected: 'valid' },
    { name: 'nbf exactly at now + skew', claims: { nbf: NOW + 30 }, expected: 'valid' },
    { name: 'nbf in the past', claims: { nbf: NOW - 3600 }, expected: 'valid' },
    { name: 'exp as a numeric string, future', claims: { exp: String(NOW + 60) }, expected: 'valid' },
    { name: 'exp as a numeric string, past', claims: { exp: String(NOW - 3600) }, expected: 'token_expired' },
    { name: 'exp as a fractional number', claims: { exp: NOW + 0.5 }, expected: 'valid' },
    { name: 'exp as a non-numeric string', claims: { exp: 'tomorrow' }, expected: 'token_claims_malformed' },
    { name: 'exp as an ISO date string', claims: { exp: '2030-01-01T00:00:00Z' }, expected: 'token_claims_malformed' },
    { name: 'exp as a boolean', claims: { exp: true }, expected: 'token_claims_malformed' },
    { name: 'exp null', claims: { exp: null }, expected: 'token_claims_malformed' },
    { name: 'nbf as a non-numeric string', claims: { nbf: 'soon' }, expected: 'token_claims_malformed' },
    { name: 'negative exp string is not a NumericDate string', claims: { exp: '-5' }, expected: 'token_claims_malformed' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const j = judgeJson(c.claims);
      if (c.expected === 'valid') assert.equal(j.kind, 'valid', JSON.stringify(j));
      else assert.deepEqual(j, { kind: 'invalid', reason: c.expected });
    });
  }

  test('clockSkewSeconds 0: exp equal to now is expired', () => {
    assert.deepEqual(judgeJson({ exp: NOW }, { ...AUTO, clockSkewSeconds: 0 }), { kind: 'invalid', reason: 'token_expired' });
  });
  test('clockSkewSeconds 0: nbf one second ahead is not yet valid', () => {
    assert.deepEqual(judgeJson({ nbf: NOW + 1 }, { ...AUTO, clockSkewSeconds: 0 }), { kind: 'invalid', reason: 'token_not_yet_valid' });
  });
  test('active false is reported before exp', () => {
    assert.deepEqual(judgeJson({ active: false, exp: NOW - 3600 }), { kind: 'invalid', reason: 'token_inactive' });
  });
  test('exp is returned on valid (number)', () => {
    assert.equal(valid(judgeJson({ active: true, exp: NOW + 120 })).exp, NOW + 120);
  });
  test('exp is returned on valid (numeric string, as a number)', () => {
    assert.equal(valid(judgeJson({ exp: String(NOW + 120) })).exp, NOW + 120);
  });
  test('exp is undefined when absent', () => {
    assert.equal(valid(judgeJson({ active: true })).exp, undefined);
  });
});

describe('judgeAnswer: scopes', () => {
  test('scope string "a b  c" -> {a, b, c}', () => {
    assert.deepEqual(valid(judgeJson({ scope: 'a b  c' })).scopes, ['a', 'b', 'c']);
  });
  test('scope string with leading and trailing spaces', () => {
    assert.deepEqual(valid(judgeJson({ scope: ' orders:read ' })).scopes, ['orders:read']);
  });
  test('empty scope string -> empty set', () => {
    assert.deepEqual(valid(judgeJson({ scope: '' })).scopes, []);
  });
  test('scope array', () => {
    assert.deepEqual(valid(judgeJson({ scope: ['a', 'b', 7, 'c'] })).scopes, ['a', 'b', 'c']);
  });
  test('scp fallback (string)', () => {
    assert.deepEqual(valid(judgeJson({ scp: 'x y' })).scopes, ['x', 'y']);
  });
  test('scp fallback (array)', () => {
    assert.deepEqual(valid(judgeJson({ scp: ['x', 'y'] })).scopes, ['x', 'y']);
  });
  test('scope wins over scp', () => {
    assert.deepEqual(valid(judgeJson({ scope: 'a', scp: ['x'] })).scopes, ['a']);
  });
  test('no scope -> null', () => {
    assert.deepEqual(valid(judgeJson({ uid: 'u' })).scopes, []);
  });
  test('scope of another type -> null', () => {
    assert.deepEqual(valid(judgeJson({ scope: 42 })).scopes, []);
  });
  test('the whole valid judgement of a typical RFC 7662 answer', () => {
    const body = { active: true, scope: 'orders:read orders:write', exp: NOW + 300, sub: 'u1' };
    assert.deepEqual(judgeJson(body), { kind: 'valid', claims: body, exp: NOW + 300, active: true, scopes: ['orders:read', 'orders:write'] });
  });
});

describe('judgeAnswer: style rfc7662 requires a JSON object with active: true (RFC 7662 §2.2)', () => {
  const cases: { name: string; answer: ValidatorAnswer; reason: string }[] = [
    { name: 'an HTML login page', answer: answer(200, '<html><body>Sign in</body></html>', 'text/html'), reason: 'not_an_introspection_answer' },
    { name: '{}', answer: answer(200, '{}'), reason: 'not_an_introspection_answer' },
    { name: 'no body', answer: answer(200, null), reason: 'not_an_introspection_answer' },
    { name: 'a JSON array', answer: answer(200, '[{"active":true}]'), reason: 'not_an_introspection_answer' },
    { name: 'null', answer: answer(200, 'null'), reason: 'not_an_introspection_answer' },
    { name: 'active false', answer: answer(200, '{"active":false}'), reason: 'token_inactive' },
    { name: 'active "true"', answer: answer(200, '{"active":"true"}'), reason: 'token_inactive' },
    { name: 'active inherited through __proto__ only', answer: answer(200, '{"__proto__":{"active":true}}'), reason: 'not_an_introspection_answer' },
  ];
  for (const c of cases) {
    test(`${c.name} is invalid (${c.reason})`, () => {
      assert.deepEqual(judge(c.answer, INTROSPECTION), { kind: 'invalid', reason: c.reason });
    });
  }
  for (const requireActive of ['auto', 'true', 'false'] as const) {
    test(`requireActive ${requireActive} does not lift the rule`, () => {
      assert.deepEqual(judge(answer(200, '{"sub":"u"}'), { ...INTROSPECTION, requireActive }), { kind: 'invalid', reason: 'not_an_introspection_answer' });
    });
  }
  test('{"active":true} is valid', () => {
    assert.equal(valid(judge(answer(200, '{"active":true,"sub":"u"}'), INTROSPECTION)).active, true);
  });
});

describe('judgeAnswer: the kept body', () => {
  test('is the JSON object body as sent, UTF-8 bytes one per char, without a byte-order mark', () => {
    const body = Buffer.from('\ufeff{"lastName":"öhlundi"}');
    const j = judgeAnswer({ status: 200, mediaType: 'application/json', body }, AUTO, NOW);
    assert.equal(j.kind, 'valid');
    assert.deepEqual((j as { claimsBytes: Buffer }).claimsBytes, Buffer.from('{"lastName":"öhlundi"}'));
  });
  test('is empty for a body that is not a JSON object', () => {
    const j = judgeAnswer(answer(200, '[1,2]'), AUTO, NOW);
    assert.equal((j as { claimsBytes: Buffer | null }).claimsBytes, null);
  });
});

describe('judgeAnswer: XML answers (SPEC 7.4), the same rules', () => {
  const XML = 'application/xml';
  const xml = (body: string, mediaType = XML) => answer(200, body, mediaType);
  /** The judgement with the parsed document replaced by a marker (documents do not compare). */
  function judgeXml(a: ValidatorAnswer, options: JudgeOptions = AUTO): Seen {
    const j = judge(a, options);
    if (j.kind !== 'valid' || j.claims === undefined) return j;
    assert.ok(j.claims instanceof Document, 'the claims of an XML answer are its parsed document');
    return { ...j, claims: 'document' };
  }
  const validXml = (fields: Partial<Extract<Seen, { kind: 'valid' }>> = {}): Seen => ({ kind: 'valid', claims: 'document', exp: undefined, active: undefined, scopes: [], ...fields });

  const cases: { name: string; answer: ValidatorAnswer; options?: JudgeOptions; expected: Seen }[] = [
    { name: 'no active element: valid', answer: xml('<user><uid>u</uid></user>'), expected: validXml() },
    { name: 'active true: valid', answer: xml('<user><active>true</active></user>'), expected: validXml({ active: true }) },
    { name: 'active true, pretty-printed', answer: xml('<user>\n  <active>\n    true\n  </active>\n</user>'), expected: validXml({ active: true }) },
    { name: 'active false: token_inactive', answer: xml('<user><active>false</active></user>'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'active TRUE (not "true"): token_inactive', answer: xml('<user><active>TRUE</active></user>'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'active 1: token_inactive', answer: xml('<user><active>1</active></user>'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'two active elements, one false: token_inactive', answer: xml('<user><active>true</active><active>false</active></user>'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'a prefixed active false counts too', answer: xml('<t:user xmlns:t="urn:t"><t:active>false</t:active></t:user>'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'text/xml', answer: xml('<user><active>false</active></user>', 'text/xml'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: '+xml', answer: xml('<user><active>false</active></user>', 'application/vnd.acme.user+xml'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'an XML declaration without an XML label', answer: xml('<?xml version="1.0"?><user><active>false</active></user>', ''), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'exp in the past', answer: xml(`<user><exp>${NOW - 3600}</exp></user>`), expected: { kind: 'invalid', reason: 'token_expired' } },
    { name: 'exp in the future', answer: xml(`<user><exp>${NOW + 3600}</exp></user>`), expected: validXml({ exp: NOW + 3600 }) },
    { name: 'nbf in the future', answer: xml(`<user><nbf>${NOW + 3600}</nbf></user>`), expected: { kind: 'invalid', reason: 'token_not_yet_valid' } },
    { name: 'exp not a date', answer: xml('<user><exp>soon</exp></user>'), expected: { kind: 'invalid', reason: 'token_claims_malformed' } },
    { name: 'scope, space separated', answer: xml('<user><scope> orders:read  profile\n</scope></user>'), expected: validXml({ scopes: ['orders:read', 'profile'] }) },
    { name: 'a DOCTYPE (XXE, billion laughs): unavailable', answer: xml('<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]><u>&x;</u>'), expected: { kind: 'unavailable', reason: 'validator_bad_answer' } },
    { name: 'malformed XML: unavailable', answer: xml('<user><active>true</user>'), expected: { kind: 'unavailable', reason: 'validator_bad_answer' } },
    { name: 'not UTF-8: unavailable', answer: { status: 200, mediaType: XML, body: Buffer.from('<user>\xf6</user>', 'latin1') }, expected: { kind: 'unavailable', reason: 'validator_bad_answer' } },
    { name: 'over the XML bound: unavailable', answer: xml(`<user>${'x'.repeat(MAX_XML_ANSWER_BYTES)}</user>`), expected: { kind: 'unavailable', reason: 'validator_bad_answer' } },
    { name: 'labelled XML but JSON: read as JSON (XML cannot start with "{")', answer: xml('{"active":false}'), expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'requireActive true without active: token_inactive', answer: xml('<user/>'), options: { ...AUTO, requireActive: 'true' }, expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'requireActive false: active false is valid', answer: xml('<user><active>false</active></user>'), options: { ...AUTO, requireActive: 'false' }, expected: validXml({ active: false }) },
    { name: 'style rfc7662: XML never satisfies it (RFC 7662 section 2.2)', answer: xml('<user><active>true</active></user>'), options: INTROSPECTION, expected: { kind: 'invalid', reason: 'not_an_introspection_answer' } },
    { name: 'format xml: read as XML whatever the label', answer: xml('<user><active>false</active></user>', 'text/plain'), options: { ...AUTO, format: 'xml' }, expected: { kind: 'invalid', reason: 'token_inactive' } },
    { name: 'format xml: a JSON body is not XML: unavailable', answer: xml('{"active":true}', 'application/json'), options: { ...AUTO, format: 'xml' }, expected: { kind: 'unavailable', reason: 'validator_bad_answer' } },
    { name: 'format json: an XML answer is a 200 without user info (the seed rule)', answer: xml('<user><active>false</active></user>'), options: { ...AUTO, format: 'json' }, expected: { kind: 'valid', claims: undefined, exp: undefined, active: undefined, scopes: [] } },
    { name: 'HTML is not read as XML', answer: xml('<!DOCTYPE html><html><body>Sign in</body></html>', 'text/html'), expected: { kind: 'valid', claims: undefined, exp: undefined, active: undefined, scopes: [] } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(judgeXml(c.answer, c.options), c.expected);
    });
  }

  test('no claims text is kept for an XML answer (it is not JSON)', () => {
    const j = judgeAnswer(xml('<user><uid>u</uid></user>'), AUTO, NOW);
    assert.equal((j as { claimsBytes: Buffer | null }).claimsBytes, null);
  });
});

describe('judgeAnswer: requireIssuer and requireAudience (SPEC 7.4)', () => {
  const ISS = 'https://as.example';
  const AUD = 'orders-api';
  const both: JudgeOptions = { ...AUTO, requireIssuer: ISS, requireAudience: AUD };
  const cases: { name: string; claims: unknown; options?: JudgeOptions; expected: string }[] = [
    { name: 'both right', claims: { iss: ISS, aud: AUD }, expected: 'valid' },
    { name: 'aud an array holding it', claims: { iss: ISS, aud: ['x', AUD] }, expected: 'valid' },
    { name: 'iss missing', claims: { aud: AUD }, expected: 'token_issuer_mismatch' },
    { name: 'iss different', claims: { iss: 'https://as.example/', aud: AUD }, expected: 'token_issuer_mismatch' },
    { name: 'iss not a string', claims: { iss: [ISS], aud: AUD }, expected: 'token_issuer_mismatch' },
    { name: 'aud missing', claims: { iss: ISS }, expected: 'token_audience_mismatch' },
    { name: 'aud different', claims: { iss: ISS, aud: 'orders' }, expected: 'token_audience_mismatch' },
    { name: 'aud an array without it', claims: { iss: ISS, aud: ['orders'] }, expected: 'token_audience_mismatch' },
    { name: 'a JSON array body', claims: [{ iss: ISS, aud: AUD }], expected: 'token_issuer_mismatch' },
    { name: 'inactive first', claims: { active: false, iss: 'x' }, expected: 'token_inactive' },
    { name: 'signed answers: iss may be left out (the signer was verified)', claims: { aud: AUD }, options: { ...both, signedAnswers: true }, expected: 'valid' },
    { name: 'signed answers: a different iss is still invalid', claims: { iss: 'https://evil.example', aud: AUD }, options: { ...both, signedAnswers: true }, expected: 'token_issuer_mismatch' },
    { name: 'only requireIssuer: aud not looked at', claims: { iss: ISS }, options: { ...AUTO, requireIssuer: ISS }, expected: 'valid' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const j = judgeJson(c.claims, c.options ?? both);
      assert.equal(j.kind === 'valid' ? 'valid' : j.reason, c.expected);
    });
  }
  test('a 200 without a body is missing both', () => {
    assert.deepEqual(judge(answer(200, null), both), { kind: 'invalid', reason: 'token_issuer_mismatch' });
  });
  test('XML: <iss> and every <aud>', () => {
    assert.equal(judge(answer(200, `<u><iss>${ISS}</iss><aud>a</aud><aud>${AUD}</aud></u>`, 'application/xml'), both).kind, 'valid');
    assert.deepEqual(judge(answer(200, `<u><iss>${ISS}</iss><aud>a</aud></u>`, 'application/xml'), both), { kind: 'invalid', reason: 'token_audience_mismatch' });
  });
});
