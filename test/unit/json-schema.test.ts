/** tokengate.schema.json is generated from the configuration schema and must be current (npm run schema). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { configJsonSchema } from '../../src/config/json-schema.js';

describe('the shipped JSON Schema', () => {
  test('is what the configuration schema generates today', () => {
    const committed = JSON.parse(readFileSync(new URL('../../tokengate.schema.json', import.meta.url), 'utf8')) as unknown;
    assert.deepEqual(committed, configJsonSchema(), 'run `npm run schema` and commit tokengate.schema.json');
  });
  test('knows every top-level key, refuses unknown ones, and lets numbers be ${NAME}', () => {
    const schema = configJsonSchema() as { properties: Record<string, { properties?: Record<string, { anyOf?: unknown[] }> }>; additionalProperties: unknown };
    assert.deepEqual(Object.keys(schema.properties).sort(), ['admin', 'cache', 'forwardAuth', 'realm', 'routes', 'server', 'validationEndpoint', 'validators']);
    assert.equal(schema.additionalProperties, false);
    assert.ok(Array.isArray(schema.properties.server.properties!.port.anyOf));
  });
});
