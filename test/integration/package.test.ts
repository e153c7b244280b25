/**
 * What ships: `npm ci --omit=dev` + `bin/tokengate serve` must work, so nothing the compiled
 * product imports may be a dev dependency (oidc-provider, tsx, test doubles). Only `demo` reaches
 * for dev tooling, through a guarded dynamic import that explains itself when it is absent.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  files: string[];
};
/** The one dev-only import of the product, in the demo's loader (src/cli/demo.ts). */
const GUARDED_DEV_IMPORTS = new Set(['cli/demo.js tsx']);

function jsFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(path, base);
    return entry.name.endsWith('.js') ? [path.slice(base.length + 1)] : [];
  });
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

describe('the shipped package', () => {
  const dist = join(ROOT, 'dist');
  const files = jsFiles(dist);

  test('is built (npm ci runs the build)', () => {
    assert.ok(files.includes('cli/main.js'));
  });

  test('imports only Node built-ins and production dependencies', () => {
    const builtins = new Set(builtinModules);
    const offenders: string[] = [];
    for (const file of files) {
      const source = readFileSync(join(dist, file), 'utf8');
      for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"./][^'"]*)['"]/g)) {
        const specifier = match[1];
        if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
        const name = packageOf(specifier);
        if (name in pkg.dependencies) continue;
        if (GUARDED_DEV_IMPORTS.has(`${file} ${name}`)) continue;
        offenders.push(`${file}: ${specifier}`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  test('oidc-provider is a dev dependency, not a production one', () => {
    assert.equal('oidc-provider' in pkg.dependencies, false);
    assert.ok('oidc-provider' in pkg.devDependencies);
  });

  test('no test double is compiled into dist', () => {
    assert.deepEqual(files.filter((file) => file.startsWith('demo/') || file.includes('fixtures')), []);
  });
});
