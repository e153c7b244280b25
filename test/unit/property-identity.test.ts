/**
 * Properties of identity headers (SPEC section 5): for any JSON and any Unicode, a rendered value
 * never holds CR, LF, NUL or another control character, is never over the bound, and reads back
 * as what the validator said (UTF-8 bytes, or RFC 3986 percent-encoding of them). The direct walk
 * of member-name chains ($.a.b) selects exactly what json-p3's RFC 9535 query selects.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compile, type JSONValue } from 'json-p3';
import { compileIdentityPlan, compileJsonPath, renderIdentity, type DroppedIdentityHeader, type IdentityEncoding } from '../../src/identity/plan.js';
import { settings } from '../fixtures/properties.js';

const MAX = 64;
const plans = {
  utf8: compileIdentityPlan(0, { 'X-A': 'a', 'X-All': '$.list[*]', 'X-Deep': '$..v' }, 'utf8', MAX, []),
  percent: compileIdentityPlan(0, { 'X-A': 'a', 'X-All': '$.list[*]', 'X-Deep': '$..v' }, 'percent', MAX, []),
};
const text = fc.string({ unit: 'grapheme-composite', maxLength: 40 });
const value = fc.oneof(text, fc.string({ unit: 'binary', maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));
const document = fc.record({ a: value, list: fc.array(value, { maxLength: 5 }), nested: fc.record({ v: value }) }, { requiredKeys: [] });

describe('property: identity values', () => {
  for (const encoding of ['utf8', 'percent'] as IdentityEncoding[]) {
    test(`${encoding}: no control character, never over ${MAX} bytes, and a faithful reading`, () => {
      fc.assert(
        fc.property(document, (doc) => {
          const dropped: DroppedIdentityHeader[] = [];
          const headers = renderIdentity(plans[encoding], doc, dropped);
          for (let i = 0; i < headers.length; i += 2) {
            const bytes = headers[i + 1];
            assert.doesNotMatch(bytes, /[\x00-\x08\x0a-\x1f\x7f]/);
            assert.ok(bytes.length <= MAX, `${bytes.length} bytes`);
            for (let c = 0; c < bytes.length; c++) assert.ok(bytes.charCodeAt(c) <= 0xff, 'one byte per char');
            if (encoding === 'percent') assert.match(bytes, /^(?:[A-Za-z0-9\-._~,]|%[0-9A-F]{2})*$/);
          }
          if (typeof doc.a === 'string' && headers[0] === 'X-A') {
            const read = encoding === 'utf8' ? Buffer.from(headers[1], 'latin1').toString('utf8') : decodeURIComponent(headers[1]);
            assert.equal(read, doc.a);
          }
        }),
        settings(3000, encoding === 'utf8' ? 41 : 42),
      );
    });
  }

  // Names that are also Object.prototype's, arrays, scalars and own "__proto__" members (JSON.parse
  // makes them own data properties): where a walk could differ from RFC 9535 if it read inherited
  // properties or indexed arrays by name.
  const NAMES = ['a', 'b', 'uid', '__proto__', 'constructor', 'toString', 'length', '_x1'];
  const member = fc.constantFrom(...NAMES);
  const json: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(fc.constant('null'), fc.constant('true'), fc.integer().map(String), fc.string({ maxLength: 4 }).map((t) => JSON.stringify(t))),
      fc.array(tie('node'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
      fc.array(fc.tuple(member, tie('node')), { maxLength: 4 }).map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
    ),
  })).node;

  test('a member-name chain walked directly selects what json-p3 selects', () => {
    fc.assert(
      fc.property(json, fc.array(member, { minLength: 1, maxLength: 4 }), (text, names) => {
        const body = JSON.parse(text) as unknown;
        const path = `$.${names.join('.')}`;
        assert.deepEqual(compileJsonPath(path).values(body), compile(path).query(body as JSONValue).values(), `${path} on ${text}`);
      }),
      settings(5000, 43),
    );
  });
});
