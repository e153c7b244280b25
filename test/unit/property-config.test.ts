/**
 * Property of configuration loading: whatever text a file holds, loading it either gives a
 * configuration or a ConfigError naming where the problem is: never another exception (a stack
 * trace), never a half-valid configuration.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { buildConfig, parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { settings } from '../fixtures/properties.js';

function load(text: string, file: string): void {
  try {
    buildConfig(parseConfigText(text, file), {});
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${(error as Error).stack}`);
    for (const problem of error.problems) {
      assert.ok(problem.path.length > 0);
      assert.doesNotMatch(problem.message, /\n/, 'one line per problem');
    }
  }
}

const fragment = fc.constantFrom('validators:', 'routes:', '  - path: /a', '    upstream: http://127.0.0.1:1', '  v: { url: "https://as/x" }', 'server: { port: 99999 }', '{', '[', '- 1', 'a: &x 1', 'b: *x', '"${UNSET}"', '__proto__: 1', '---', ':', '\t', 'key: [1, 2', '? complex', '!!binary aGk=');

describe('property: loading any text', () => {
  test('YAML: a configuration or a ConfigError, never a crash', () => {
    fc.assert(fc.property(fc.array(fragment, { maxLength: 12 }), (lines) => load(lines.join('\n'), 'x.yaml')), settings(1500, 51));
  });
  test('YAML from arbitrary structures', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => load(stringify(value), 'x.yaml')), settings(1500, 52));
  });
  test('JSON: the same', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v))), (text) => load(text, 'x.json')), settings(1500, 53));
  });
});
