/**
 * SPEC 7.3 as a TypeScript user sees it: a consumer that imports `tokengate`, `tokengate/fastify`,
 * `tokengate/express` and `tokengate/node` by package name (through package.json `exports` to the
 * built declarations in dist/) type-checks, with `request.tokengate` and `req.tokengate` typed by
 * the modules' augmentations; and a misuse of the decision does not.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONSUMER = join(ROOT, 'test/fixtures/consumer');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const ENTRY_POINTS = ['index', 'library/index', 'library/fastify', 'library/express', 'library/node', 'library/decision', 'library/options', 'library/request', 'library/engine'];

function tsc(project: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [TSC, '--noEmit', '--pretty', 'false', '-p', '.'], { cwd: project, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** dist/ holds declarations at least as new as every library source (else they are built, in place). */
function ensureBuilt(): void {
  const stale = ENTRY_POINTS.some((name) => {
    const built = join(ROOT, 'dist', `${name}.d.ts`);
    return !existsSync(built) || statSync(built).mtimeMs < statSync(join(ROOT, 'src', `${name}.ts`)).mtimeMs;
  });
  if (!stale) return;
  const build = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(build.status, 0, `the build failed:\n${build.stdout}${build.stderr}`);
}

describe('the published types (package.json exports -> dist/*.d.ts)', () => {
  let elsewhere: string;

  before(() => {
    ensureBuilt();
    // A project outside the checkout that has tokengate installed (a link to this checkout).
    elsewhere = mkdtempSync(join(tmpdir(), 'tokengate-consumer-'));
    mkdirSync(join(elsewhere, 'node_modules'));
    symlinkSync(ROOT, join(elsewhere, 'node_modules/tokengate'), 'dir');
    symlinkSync(join(ROOT, 'node_modules/@types'), join(elsewhere, 'node_modules/@types'), 'dir');
    writeFileSync(join(elsewhere, 'package.json'), '{ "type": "module" }\n');
    cpSync(join(CONSUMER, 'tsconfig.json'), join(elsewhere, 'tsconfig.json'));
  });
  after(() => rmSync(elsewhere, { recursive: true, force: true }));

  test('a consumer importing every entry point by package name type-checks', () => {
    const { status, output } = tsc(CONSUMER);
    assert.equal(status, 0, output);
  });

  test('misusing a decision is a type error (readonly fields, their types, the typed req.tokengate)', () => {
    writeFileSync(
      join(elsewhere, 'consumer.ts'),
      [
        "import type { Request } from 'express';",
        "import { createTokenValidator } from 'tokengate';",
        "import 'tokengate/express';",
        "const tg = await createTokenValidator({ validators: { v: { url: 'http://127.0.0.1:9/' } } });",
        "const d = await tg.validate('t');",
        "d.allowed = 'x';",
        'const n: number = d.allowed;',
        'export const misuse = (req: Request) => req.tokengate?.statuss;',
        'export { n };',
        '',
      ].join('\n'),
    );
    const { status, output } = tsc(elsewhere);
    assert.notEqual(status, 0);
    const errors = output.split('\n').filter((line) => line.includes('error TS'));
    assert.deepEqual(errors.map((line) => /^(\S+?)\((\d+),\d+\): error (TS\d+)/.exec(line)?.slice(1)), [
      ['consumer.ts', '6', 'TS2540'],
      ['consumer.ts', '7', 'TS2322'],
      ['consumer.ts', '8', 'TS2551'],
    ], output);
  });
});
