/**
 * Properties of token extraction (RFC 6750 section 2): for any bytes in the Authorization header,
 * the query and the form body, extraction never throws, and a token it returns is always a single
 * RFC 6750 b64token within maxTokenBytes, taken from a place the route allows.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { B64TOKEN } from '../../src/http/syntax.js';
import { extractToken } from '../../src/pipeline/extract-token.js';
import { settings } from '../fixtures/properties.js';

const MAX = 64;
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.constantFrom('Bearer abc', 'bearer  a.b-c~d+e/f==', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer a b', `Bearer ${'x'.repeat(65)}`, 'Bearer\tabc', 'Bearer a\r\nX: y'),
);
const anyQuery = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('access_token=abc', 'access_token=a&access_token=b', 'access%5Ftoken=x%2By', 'access_token=%ZZ', 'a=1&access_token='));
const sources = fc.record({ header: fc.boolean(), form: fc.boolean(), query: fc.boolean() });

describe('property: token extraction', () => {
  test('never throws; a token is one b64token within the bound, from an allowed place', () => {
    fc.assert(
      fc.property(
        sources,
        fc.option(anyText, { nil: undefined }),
        fc.nat(3),
        anyQuery,
        fc.option(anyQuery, { nil: undefined }),
        (allowed, authorization, authorizationCount, query, form) => {
          const view = { authorization, authorizationCount: authorization === undefined ? 0 : Math.max(1, authorizationCount), query, form: allowed.form ? form : undefined };
          const result = extractToken(allowed, view, MAX);
          if (result.kind !== 'token') return;
          assert.match(result.token, B64TOKEN);
          assert.ok(result.token.length <= MAX);
          assert.ok(allowed[result.source], `from ${result.source}, which the route does not allow`);
          if (result.source === 'header') assert.equal(view.authorizationCount, 1);
        },
      ),
      settings(3000, 21),
    );
  });
});
