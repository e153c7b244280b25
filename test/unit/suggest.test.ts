import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nearestKey } from '../../src/config/suggest.js';

describe('nearestKey', () => {
  const top = ['server', 'admin', 'realm', 'validators', 'cache', 'routes', 'forwardAuth', 'validationEndpoint'];
  const cases: [string, string | undefined][] = [
    ['validator', 'validators'],
    ['route', 'routes'],
    ['sever', 'server'],
    ['Routes', 'routes'],
    ['raelm', 'realm'],
    ['forwardauth', 'forwardAuth'],
    ['upstream', undefined],
    ['x', undefined],
  ];
  for (const [key, expected] of cases) {
    test(`${key} -> ${String(expected)}`, () => {
      assert.equal(nearestKey(key, top), expected);
    });
  }
});
