/**
 * The gateway's own parameters (`access_token`, `_method`) in a query or form are found in every
 * spelling a backend reads as them: percent-encoded, and with "_" spelt ".", " " or "+" (PHP turns
 * those into "_": Laravel and Symfony see `_method` in `.method=DELETE`; regression: review finding,
 * PHP parameter names). Every other parameter is kept byte for byte.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { paramValues, removeParam } from '../../src/http/urlencoded.js';
import { settings } from '../fixtures/properties.js';

describe('urlencoded parameters', () => {
  for (const spelling of ['_method', '.method', '+method', '%20method', '%2Emethod', '%5Fmethod', '%5fmethod']) {
    test(`"${spelling}=DELETE" is a _method`, () => {
      assert.deepEqual(paramValues(`id=7&${spelling}=DELETE`, '_method'), ['DELETE']);
      assert.equal(removeParam(`id=7&${spelling}=DELETE&x=%41`, '_method'), 'id=7&x=%41');
    });
  }

  for (const spelling of ['access.token', 'access+token', 'access%2Etoken']) {
    test(`"${spelling}" is an access_token`, () => {
      assert.deepEqual(paramValues(`${spelling}=abc`, 'access_token'), ['abc']);
    });
  }

  test('other names are not: "method", "x_method", "_methods", "access_tokens"', () => {
    assert.deepEqual(paramValues('method=a&x_method=b&_methods=c', '_method'), []);
    assert.deepEqual(paramValues('access_tokens=a&accesstoken=b', 'access_token'), []);
  });

  test('property: any spelling of "_" in _method (_ . + %20 %2E %5F) is found and removed, the rest kept', () => {
    const underscore = fc.constantFrom('_', '.', '+', '%20', '%2E', '%2e', '%5F', '%5f');
    const other = fc.stringMatching(/^[a-z]{1,6}=[a-z0-9]{0,6}$/);
    fc.assert(
      fc.property(underscore, fc.array(other, { maxLength: 4 }), fc.array(other, { maxLength: 4 }), (spelt, before, after) => {
        const pairs = [...before, `${spelt}method=PUT`, ...after];
        assert.deepEqual(paramValues(pairs.join('&'), '_method'), ['PUT']);
        assert.equal(removeParam(pairs.join('&'), '_method'), [...before, ...after].join('&'));
      }),
      settings(200, 71),
    );
  });
});
