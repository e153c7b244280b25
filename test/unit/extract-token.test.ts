/**
 * Stage 2, extract (RFC 6750 section 2): where the token may come from, and what makes a request
 * malformed rather than token-less.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TokenSources } from '../../src/config/compile.js';
import { extractToken, type CredentialsView, type Extraction, type ExtractionFailure } from '../../src/pipeline/extract-token.js';

const HEADER: TokenSources = { header: true, form: false, query: false };
const QUERY: TokenSources = { header: false, form: false, query: true };
const HEADER_QUERY: TokenSources = { header: true, form: false, query: true };
const HEADER_FORM: TokenSources = { header: true, form: true, query: false };
const ALL: TokenSources = { header: true, form: true, query: true };

function view(parts: Partial<CredentialsView>): CredentialsView {
  return {
    authorization: parts.authorization,
    authorizationCount: parts.authorizationCount ?? (parts.authorization === undefined ? 0 : 1),
    query: parts.query ?? '',
    form: parts.form,
  };
}

const token = (value: string, source: 'header' | 'form' | 'query'): Extraction => ({ kind: 'token', token: value, source });
const malformed = (reason: ExtractionFailure): Extraction => ({ kind: 'malformed', reason });
const NONE: Extraction = { kind: 'none' };

interface Case {
  readonly name: string;
  readonly sources: TokenSources;
  readonly view: Partial<CredentialsView>;
  readonly expected: Extraction;
}

const cases: Case[] = [
  // Nothing at all.
  { name: 'no credentials anywhere', sources: HEADER, view: {}, expected: NONE },
  { name: 'query without access_token', sources: HEADER_QUERY, view: { query: 'a=1&b=2' }, expected: NONE },

  // Authorization header (RFC 6750 §2.1).
  { name: 'Bearer x', sources: HEADER, view: { authorization: 'Bearer x' }, expected: token('x', 'header') },
  { name: 'scheme is case-insensitive (bearer)', sources: HEADER, view: { authorization: 'bearer abc' }, expected: token('abc', 'header') },
  { name: 'scheme is case-insensitive (BEARER)', sources: HEADER, view: { authorization: 'BEARER abc' }, expected: token('abc', 'header') },
  { name: 'scheme is case-insensitive (bEaReR)', sources: HEADER, view: { authorization: 'bEaReR abc' }, expected: token('abc', 'header') },
  { name: 'several spaces after the scheme', sources: HEADER, view: { authorization: 'Bearer    abc' }, expected: token('abc', 'header') },
  { name: 'every b64token character', sources: HEADER, view: { authorization: 'Bearer aZ09-._~+/' }, expected: token('aZ09-._~+/', 'header') },
  { name: 'trailing "=" padding', sources: HEADER, view: { authorization: 'Bearer abc==' }, expected: token('abc==', 'header') },
  { name: 'a uuid-like token', sources: HEADER, view: { authorization: 'Bearer 8dbd30ed-2e19-42cf-9b86-aaaaaaaa' }, expected: token('8dbd30ed-2e19-42cf-9b86-aaaaaaaa', 'header') },
  { name: '"Bearer" alone', sources: HEADER, view: { authorization: 'Bearer' }, expected: malformed('malformed_authorization') },
  { name: '"Bearer " with only spaces', sources: HEADER, view: { authorization: 'Bearer   ' }, expected: malformed('malformed_authorization') },
  { name: '"Bearer a b"', sources: HEADER, view: { authorization: 'Bearer a b' }, expected: malformed('malformed_authorization') },
  { name: 'tab instead of space', sources: HEADER, view: { authorization: 'Bearer\tabc' }, expected: malformed('malformed_authorization') },
  { name: 'bad character ","', sources: HEADER, view: { authorization: 'Bearer ab,c' }, expected: malformed('malformed_authorization') },
  { name: 'bad character "@"', sources: HEADER, view: { authorization: 'Bearer ab@c' }, expected: malformed('malformed_authorization') },
  { name: 'bad character quote', sources: HEADER, view: { authorization: 'Bearer "abc"' }, expected: malformed('malformed_authorization') },
  { name: '"=" inside the token', sources: HEADER, view: { authorization: 'Bearer ab=c' }, expected: malformed('malformed_authorization') },
  { name: 'only padding', sources: HEADER, view: { authorization: 'Bearer ==' }, expected: malformed('malformed_authorization') },
  { name: 'non-ASCII in the token', sources: HEADER, view: { authorization: 'Bearer öhlundi' }, expected: malformed('malformed_authorization') },
  { name: 'Basic scheme is not a bearer token', sources: HEADER, view: { authorization: 'Basic dXNlcjpwYXNz' }, expected: NONE },
  { name: 'Digest scheme is not a bearer token', sources: HEADER, view: { authorization: 'Digest username="a"' }, expected: NONE },
  { name: '"Bearerx abc" is another scheme', sources: HEADER, view: { authorization: 'Bearerx abc' }, expected: NONE },
  { name: 'two Authorization headers', sources: HEADER, view: { authorization: 'Bearer abc', authorizationCount: 2 }, expected: malformed('several_authorization_headers') },
  { name: 'two Authorization headers, other scheme', sources: HEADER, view: { authorization: 'Basic dXNlcjpwYXNz', authorizationCount: 2 }, expected: malformed('several_authorization_headers') },
  { name: 'header token where only query is allowed', sources: QUERY, view: { authorization: 'Bearer abc' }, expected: malformed('token_source_not_allowed') },

  // URI query parameter (RFC 6750 §2.3).
  { name: 'query token allowed', sources: QUERY, view: { query: 'access_token=abc' }, expected: token('abc', 'query') },
  { name: 'query token among other params', sources: HEADER_QUERY, view: { query: 'a=1&access_token=abc&b=2' }, expected: token('abc', 'query') },
  { name: 'query token not allowed', sources: HEADER, view: { query: 'access_token=abc' }, expected: malformed('token_source_not_allowed') },
  { name: 'query token twice', sources: QUERY, view: { query: 'access_token=abc&access_token=abc' }, expected: malformed('token_in_several_places') },
  { name: 'header and query', sources: HEADER_QUERY, view: { authorization: 'Bearer abc', query: 'access_token=abc' }, expected: malformed('token_in_several_places') },
  { name: 'percent-encoded name access%5Ftoken', sources: QUERY, view: { query: 'access%5Ftoken=abc' }, expected: token('abc', 'query') },
  { name: 'percent-encoded name, not allowed', sources: HEADER, view: { query: 'access%5ftoken=abc' }, expected: malformed('token_source_not_allowed') },
  { name: 'plain and percent-encoded name both', sources: QUERY, view: { query: 'access_token=abc&access%5Ftoken=abc' }, expected: malformed('token_in_several_places') },
  { name: 'percent-encoded value is decoded', sources: QUERY, view: { query: 'access_token=ab%2Bc%3D' }, expected: token('ab+c=', 'query') },
  { name: 'query token with "=" padding', sources: QUERY, view: { query: 'access_token=abc==' }, expected: token('abc==', 'query') },
  { name: 'query token decoding to a space (%20)', sources: QUERY, view: { query: 'access_token=ab%20c' }, expected: malformed('malformed_token') },
  { name: 'query token decoding to a space (+)', sources: QUERY, view: { query: 'access_token=ab+c' }, expected: malformed('malformed_token') },
  { name: 'query token decoding to CR LF', sources: QUERY, view: { query: 'access_token=abc%0D%0AX-Injected:%201' }, expected: malformed('malformed_token') },
  { name: 'query token decoding to NUL', sources: QUERY, view: { query: 'access_token=abc%00' }, expected: malformed('malformed_token') },
  { name: 'query token with invalid percent-encoding', sources: QUERY, view: { query: 'access_token=abc%ZZ' }, expected: malformed('malformed_token') },
  { name: 'empty query token', sources: QUERY, view: { query: 'access_token=' }, expected: malformed('malformed_token') },
  { name: 'query name without value', sources: QUERY, view: { query: 'access_token' }, expected: malformed('malformed_token') },
  { name: 'other scheme in header + query token', sources: HEADER_QUERY, view: { authorization: 'Basic dXNlcjpwYXNz', query: 'access_token=abc' }, expected: token('abc', 'query') },
  { name: 'malformed header wins over a query token', sources: HEADER_QUERY, view: { authorization: 'Bearer', query: 'access_token=abc' }, expected: malformed('malformed_authorization') },
  { name: 'similar names are not access_token', sources: HEADER, view: { query: 'access_tokens=abc&xaccess_token=abc&Access_Token=abc' }, expected: NONE },

  // Form-encoded body (RFC 6750 §2.2): `form` is only set when the route accepts form tokens.
  { name: 'form token', sources: HEADER_FORM, view: { form: 'access_token=abc' }, expected: token('abc', 'form') },
  { name: 'form token among other fields', sources: HEADER_FORM, view: { form: 'x=1&access_token=abc&y=%20' }, expected: token('abc', 'form') },
  { name: 'form without access_token', sources: HEADER_FORM, view: { form: 'x=1' }, expected: NONE },
  { name: 'empty form', sources: HEADER_FORM, view: { form: '' }, expected: NONE },
  { name: 'form token twice', sources: HEADER_FORM, view: { form: 'access_token=abc&access_token=def' }, expected: malformed('token_in_several_places') },
  { name: 'header and form', sources: HEADER_FORM, view: { authorization: 'Bearer abc', form: 'access_token=abc' }, expected: malformed('token_in_several_places') },
  { name: 'query and form', sources: ALL, view: { query: 'access_token=abc', form: 'access_token=abc' }, expected: malformed('token_in_several_places') },
  { name: 'percent-encoded name in the form', sources: HEADER_FORM, view: { form: 'access%5Ftoken=abc' }, expected: token('abc', 'form') },
  { name: 'form token decoding to CR LF', sources: HEADER_FORM, view: { form: 'access_token=a%0D%0Ab' }, expected: malformed('malformed_token') },
  { name: 'form token with a space', sources: HEADER_FORM, view: { form: 'access_token=a+b' }, expected: malformed('malformed_token') },
  { name: 'form token with "=" padding (encoded)', sources: HEADER_FORM, view: { form: 'access_token=abc%3D%3D' }, expected: token('abc==', 'form') },
];

const MAX = 8192;

describe('extractToken (RFC 6750 section 2)', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(extractToken(c.sources, view(c.view), MAX), c.expected);
    });
  }

  test('a malformed outcome carries no token', () => {
    const result = extractToken(HEADER, view({ authorization: 'Bearer a b' }), MAX);
    assert.equal(result.kind, 'malformed');
    assert.equal('token' in result, false);
  });

  test('maxTokenBytes: a token of exactly the bound passes, one byte more is token_too_long, wherever it is', () => {
    const at = 'a'.repeat(64);
    const over = 'a'.repeat(65);
    assert.deepEqual(extractToken(HEADER, view({ authorization: `Bearer ${at}` }), 64), token(at, 'header'));
    assert.deepEqual(extractToken(HEADER, view({ authorization: `Bearer ${over}` }), 64), malformed('token_too_long'));
    assert.deepEqual(extractToken(ALL, view({ query: `access_token=${over}` }), 64), malformed('token_too_long'));
    assert.deepEqual(extractToken(HEADER_FORM, view({ form: `access_token=${over}` }), 64), malformed('token_too_long'));
  });
});
