/**
 * The forward-auth configurations the README and deploy/forward-auth/ give are the ones the end
 * to end tests run: nginx.conf and the Caddyfile are exactly what the fixtures build (and prove
 * against real nginx and Caddy in forward-auth.test.ts); tokengate.yaml passes `check`; the
 * Traefik and Envoy files are well-formed YAML that name the decision path.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { caddyForwardAuthConfig } from '../fixtures/caddy.js';
import { REPO, runCli } from '../fixtures/cli.js';
import { nginxAuthRequestConfig } from '../fixtures/nginx.js';

const DIR = join(REPO, 'deploy', 'forward-auth');
const read = (name: string) => readFileSync(join(DIR, name), 'utf8');
const DOCUMENTED = { decision: '127.0.0.1:8080', decisionPath: '/_tokengate/auth', backendUrl: 'http://127.0.0.1:3000', identityHeaders: ['X-User-Id', 'X-User-Email'], listen: '0.0.0.0:80' };

describe('deploy/forward-auth: the documented configurations are the tested ones', () => {
  test('nginx.conf is what the nginx fixture builds', () => {
    assert.equal(read('nginx.conf'), `http {\n${nginxAuthRequestConfig(DOCUMENTED)}}\n`);
  });
  test('the Caddyfile is what the Caddy fixture builds', () => {
    assert.equal(read('Caddyfile'), caddyForwardAuthConfig(DOCUMENTED));
  });
  test('the README shows them as they are', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    assert.ok(readme.includes(read('nginx.conf')), 'README nginx block');
    assert.ok(readme.includes(read('Caddyfile')), 'README Caddyfile block');
  });
  test('tokengate.yaml passes check', async () => {
    const result = await runCli(['check', '--config', join(DIR, 'tokengate.yaml')], { env: { INTROSPECTION_SECRET: 's' } });
    assert.equal(result.code, 0, result.stderr);
  });
  for (const file of ['traefik-docker-compose.yml', 'traefik.yml', 'traefik-dynamic.yml', 'envoy.yaml']) {
    test(`${file} is well-formed YAML`, () => {
      const documents = parseAllDocuments(read(file));
      assert.ok(documents.length > 0, 'at least one YAML document');
      for (const document of documents) assert.deepEqual(document.errors, []);
    });
  }
  test('Traefik and Envoy ask the decision path', () => {
    assert.match(read('traefik-dynamic.yml'), /address: "http:\/\/127\.0\.0\.1:8080\/_tokengate\/auth"/);
    assert.match(read('envoy.yaml'), /path_prefix: \/_tokengate\/auth/);
  });
});
