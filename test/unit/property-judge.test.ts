/**
 * Properties of the judge (SPEC section 1): for any status, content type and body, it never
 * throws, and it never says "valid" unless the rules do: the status is 200; a JSON object's own
 * `active`, when present, is true (with requireActive auto or true); for style rfc7662 the body is
 * a JSON object with active true; `exp` is not in the past nor `nbf` in the future beyond the skew.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { judgeAnswer, type JudgeOptions } from '../../src/validators/judge.js';
import { settings } from '../fixtures/properties.js';

const NOW = 1_700_000_000;
const SKEW = 30;

const claim = fc.oneof(fc.constant(undefined), fc.boolean(), fc.constantFrom('true', 'false', 1, 0, null, NOW + 100, NOW - 100, `${NOW - 100}`, 'soon'), fc.jsonValue({ maxDepth: 1 }));
const claimsObject = fc.record(
  { active: claim, exp: claim, nbf: claim, scope: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 })), uid: fc.string() },
  { requiredKeys: [] },
);
const body = fc.oneof(
  claimsObject.map((o) => JSON.stringify(o)),
  claimsObject.map((o) => `\ufeff ${JSON.stringify(o)}`),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('', '<html>Sign in</html>', '{"active":true', '[{"active":true}]', 'null', '{"__proto__":{"active":true}}'),
);
const mediaType = fc.constantFrom('', 'application/json', 'text/json', 'text/plain', 'text/html', 'application/problem+json', 'application/xml', 'application/token-introspection+jwt');
const options = fc.record({ style: fc.constantFrom('bearer', 'rfc7662'), requireActive: fc.constantFrom('auto', 'true', 'false'), clockSkewSeconds: fc.constant(SKEW) }) as fc.Arbitrary<JudgeOptions>;

/** The body as a JSON object, the way any careful reader would see it, or undefined. */
function objectOf(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text.replace(/^\ufeff/, ''));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

describe('property: the judge', () => {
  test('never throws, and "valid" only when the rules say so', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), mediaType, body, options, (status, type, text, opts) => {
        const j = judgeAnswer({ status, mediaType: type, body: status === 200 ? Buffer.from(text) : null }, opts, NOW);
        if (j.kind !== 'valid') return;
        assert.equal(status, 200);
        const claims = objectOf(text);
        const hasActive = claims !== undefined && Object.hasOwn(claims, 'active');
        if (opts.style === 'rfc7662') assert.equal(claims?.active, true, `rfc7662 valid without active true: ${text}`);
        if (opts.requireActive === 'true') assert.equal(claims?.active, true);
        if (opts.requireActive === 'auto' && hasActive) assert.equal(claims.active, true, `active member not true but valid: ${text}`);
        const exp = claims?.exp;
        if (typeof exp === 'number') assert.ok(exp + SKEW > NOW, `expired but valid: ${text}`);
        const nbf = claims?.nbf;
        if (typeof nbf === 'number') assert.ok(nbf - SKEW <= NOW, `not yet valid but valid: ${text}`);
      }),
      settings(5000, 31),
    );
  });

  test('a status other than 200 is never valid, whatever the body says', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }).filter((s) => s !== 200), mediaType, body, options, (status, type, text, opts) => {
        assert.notEqual(judgeAnswer({ status, mediaType: type, body: Buffer.from(text) }, opts, NOW).kind, 'valid');
      }),
      settings(1000, 32),
    );
  });
});
