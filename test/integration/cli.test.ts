/**
 * The command line (SPEC section 2), through the real `bin/tokengate` (compiled dist/): check's
 * exit codes and one-line-per-problem output, serve's listening line, access log, drain on
 * SIGTERM/SIGINT and reload on SIGHUP, probe's decisions and exit codes, and the demo's curl lines.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fingerprintOf, tokenKey } from '../../src/cache/key.js';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { REPO, runCli, startCli, tempDir, type CliProcess, type CliResult, type TempDir } from '../fixtures/cli.js';
import { freePort as closedPort } from '../fixtures/ports.js';

const GOOD = '8dbd30ed-2e19-42cf-9b86-cli-good';
const UNKNOWN = '8dbd30ed-2e19-42cf-9b86-cli-unknown';
const API_KEY = 'cli-k3y';

const EXAMPLES = readdirSync(join(REPO, 'examples')).filter((name) => name.endsWith('.yaml'));

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** No output of the CLI ever carries a stack trace. */
function assertNoStack(result: { stdout: string; stderr: string }): void {
  for (const line of [...result.stdout.split('\n'), ...result.stderr.split('\n')]) {
    assert.ok(!/^\s+at /.test(line), `stack trace line in output: ${JSON.stringify(line)}`);
  }
  assert.ok(!/\b(TypeError|ReferenceError|ZodError)\b/.test(result.stderr), `internal error in stderr: ${result.stderr}`);
}

/** Every stderr line is `path: message`. */
function problemLines(result: CliResult): string[] {
  const out = lines(result.stderr);
  for (const line of out) assert.match(line, /^\S[^:]*: \S.*$/, `not a "path: message" line: ${JSON.stringify(line)}`);
  return out;
}

/** A port nothing listens on. */

const TYPO_CONFIG = `validators:
  v: { url: "http://127.0.0.1:1/validate" }
routes:
  - path: /a
    upstreem: http://127.0.0.1:3000
`;

const MANY_PROBLEMS_CONFIG = `server: { port: 99999 }
validators:
  v: { url: "ftp://example.test/x", timeoutMs: -1 }
routes:
  - path: a
    upstream: nope
    auth: maybe
`;

const MANY_PROBLEMS_PATHS = ['routes[0].auth', 'routes[0].path', 'routes[0].upstream', 'server.port', 'validators.v.timeoutMs', 'validators.v.url'];

const VALID_MINIMAL = `validators:
  v: { url: "http://127.0.0.1:1/validate" }
routes:
  - path: /a
    upstream: http://127.0.0.1:3000
`;

// Each test is a process: four at a time, so a loaded machine still starts each within its deadline.
describe('check', { concurrency: 4 }, () => {
  let dir: TempDir;
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir?.remove());

  for (const example of EXAMPLES) {
    const text = readFileSync(join(REPO, 'examples', example), 'utf8');
    const variables = [...new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)].map((m) => m[1]))];
    test(`examples/${example} is valid once its variables are set: exit 0`, async () => {
      const result = await runCli(['check', '--config', join('examples', example)], { env: Object.fromEntries(variables.map((name) => [name, `value-of-${name}`])) });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      assert.match(result.stdout, new RegExp(`^examples/${example.replace('.', '\\.')}: valid \\(`));
      assertNoStack(result);
    });
    test(`examples/${example}: no secret has a default (check names each unset variable), nothing binds the demo's port, the schema is referenced`, async () => {
      assert.doesNotMatch(text, /\$\{[A-Za-z_][A-Za-z0-9_]*:-/, 'a default would let check pass and serve send it');
      assert.doesNotMatch(text, /port: 8080\b/);
      assert.match(text, /^# yaml-language-server: \$schema=\.\.\/tokengate\.schema\.json$/m);
      if (variables.length === 0) return;
      const result = await runCli(['check', '--config', join('examples', example)]);
      assert.equal(result.code, 1);
      for (const name of variables) assert.match(result.stderr, new RegExp(`environment variable ${name} is not set and has no default`));
    });
  }

  test('a typo in a key (upstreem) exits 1 with a line naming routes[0].upstreem', async () => {
    const file = await dir.write('typo.yaml', TYPO_CONFIG);
    const result = await runCli(['check', '--config', file]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    const out = problemLines(result);
    assert.ok(out.includes('routes[0].upstreem: unknown key (did you mean upstream?)'), result.stderr);
    assertNoStack(result);
  });

  test('several problems: one "path: message" line per problem', async () => {
    const file = await dir.write('many.yaml', MANY_PROBLEMS_CONFIG);
    const result = await runCli(['check', '--config', file]);
    assert.equal(result.code, 1);
    const out = problemLines(result);
    assert.deepEqual(out.map((line) => line.slice(0, line.indexOf(': '))).sort(), MANY_PROBLEMS_PATHS);
    assert.ok(out.includes('routes[0].upstream: must be an http or https URL'), result.stderr);
    assertNoStack(result);
  });

  test('an unset ${NAME} without default is an error naming its key', async () => {
    const file = await dir.write('env.yaml', VALID_MINIMAL.replace('"http://127.0.0.1:1/validate" }', '"http://127.0.0.1:1/validate", query: { api_key: "${TG_CLI_TEST_UNSET}" } }'));
    const result = await runCli(['check', '--config', file]);
    assert.equal(result.code, 1);
    const out = problemLines(result);
    assert.equal(out.length, 1, result.stderr);
    assert.match(out[0], /^validators\.v\.query\.api_key: .*TG_CLI_TEST_UNSET/);
    const withEnv = await runCli(['check', '--config', file], { env: { TG_CLI_TEST_UNSET: 'set' } });
    assert.equal(withEnv.code, 0, withEnv.stderr);
  });

  test('YAML that does not parse: exit 1, one line, no stack trace', async () => {
    const file = await dir.write('broken.yaml', 'routes: [ { path: /a\n  upstream: :\n');
    const result = await runCli(['check', '--config', file]);
    assert.equal(result.code, 1);
    const out = problemLines(result);
    assert.equal(out.length, 1, result.stderr);
    assertNoStack(result);
  });

  test('a missing file exits 1 naming the file, without a stack trace', async () => {
    const missing = join(dir.path, 'does-not-exist.yaml');
    const result = await runCli(['check', '--config', missing]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.ok(lines(result.stderr).length === 1 && result.stderr.startsWith(`${missing}: `), result.stderr);
    assertNoStack(result);
  });

  test('--config defaults to $TOKENGATE_CONFIG, then ./tokengate.yaml', async () => {
    const cwd = await tempDir();
    try {
      // Neither: ./tokengate.yaml is looked for, and missing.
      const none = await runCli(['check'], { cwd: cwd.path });
      assert.equal(none.code, 1);
      assert.match(none.stderr, /^tokengate\.yaml: /);
      assertNoStack(none);

      // ./tokengate.yaml in the working directory.
      await cwd.write('tokengate.yaml', VALID_MINIMAL);
      const local = await runCli(['check'], { cwd: cwd.path });
      assert.equal(local.code, 0, local.stderr);
      assert.match(local.stdout, /^tokengate\.yaml: valid/);

      // $TOKENGATE_CONFIG wins over ./tokengate.yaml.
      const typo = await cwd.write('typo.yaml', TYPO_CONFIG);
      const fromEnv = await runCli(['check'], { cwd: cwd.path, env: { TOKENGATE_CONFIG: typo } });
      assert.equal(fromEnv.code, 1);
      assert.ok(problemLines(fromEnv).includes('routes[0].upstreem: unknown key (did you mean upstream?)'), fromEnv.stderr);

      // --config wins over $TOKENGATE_CONFIG.
      const explicit = await runCli(['check', '--config', join(cwd.path, 'tokengate.yaml')], { cwd: cwd.path, env: { TOKENGATE_CONFIG: typo } });
      assert.equal(explicit.code, 0, explicit.stderr);
    } finally {
      await cwd.remove();
    }
  });
});

/** A serve configuration: the seed fixture as validator, routes to the echo backends. */
function serveConfig(seed: SeedEndpoint, upstream: string, routes: string[] = ['/orders']): string {
  return `server: { host: 127.0.0.1, port: 0 }
validators:
  mashery:
    url: ${seed.validationUrl}
    query: { api_key: "\${SEED_API_KEY}" }
routes:
${routes
  .map(
    (path) => `  - path: ${path}
    upstream: ${upstream}
    identityHeaders:
      X-User-Id: uid
      X-User-Last-Name: lastName
`,
  )
  .join('')}`;
}

describe('serve', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let slowBackend: SampleBackend;
  let dir: TempDir;
  const running: CliProcess[] = [];
  const serve = (file: string) => {
    const cli = startCli(['serve', '--config', file], { env: { SEED_API_KEY: API_KEY } });
    running.push(cli);
    return cli;
  };
  const get = (url: string, token = GOOD) => fetch(url, { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    [seed, backend, slowBackend, dir] = await Promise.all([
      startSeedEndpoint({ apiKey: API_KEY, users: new Map([[GOOD, SEED_USER_INFO]]) }),
      startSampleBackend(),
      startSampleBackend({ delayMs: 500 }),
      tempDir(),
    ]);
  });
  after(async () => {
    await Promise.all(running.map((cli) => cli.kill()));
    await Promise.all([seed?.close(), backend?.close(), slowBackend?.close(), dir?.remove()]);
  });

  describe('a running gateway', () => {
    let cli: CliProcess;
    let url: string;
    let file: string;

    before(async () => {
      file = await dir.write('serve.yaml', serveConfig(seed, backend.url));
      cli = serve(file);
      url = await cli.listening();
    });

    test('logs a JSON "listening" line with the URL on stdout', () => {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(url, 'http://127.0.0.1:0');
      const line = cli.jsonLines().find((l) => l.msg === 'listening')!;
      assert.equal(line.level, 30);
    });

    test('requests work through it, with identity headers from the validator', async () => {
      const res = await get(`${url}/orders/7?x=1`);
      assert.equal(res.status, 200, await res.clone().text());
      const echoed = (await res.json()) as { url: string; headers: Record<string, string> };
      assert.equal(echoed.url, '/orders/7?x=1');
      assert.equal(echoed.headers['x-user-id'], 'abcd23456');
      assert.equal(echoed.headers['x-user-last-name'], 'öhlundi');

      const refused = await get(`${url}/orders/7`, UNKNOWN);
      assert.equal(refused.status, 401);
      assert.equal(((await refused.json()) as { errors: { type: string }[] }).errors[0].type, 'InvalidTokenError');
    });

    test('access log lines are JSON with method, path, status and outcome, never the token or the query', async () => {
      const res = await get(`${url}/orders/access-log?secret=q`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
      const denied = await get(`${url}/orders/access-log-denied`, UNKNOWN);
      assert.equal(denied.status, 401);
      await denied.body?.cancel();
      const ok = await cli.waitForLog((l) => l.msg === 'request' && l.path === '/orders/access-log', 'access log line (200)');
      assert.equal(ok.method, 'GET');
      assert.equal(ok.status, 200);
      assert.equal(ok.outcome, 'allow');
      const no = await cli.waitForLog((l) => l.msg === 'request' && l.path === '/orders/access-log-denied', 'access log line (401)');
      assert.equal(no.method, 'GET');
      assert.equal(no.status, 401);
      assert.equal(no.outcome, 'deny');
      assert.equal(no.fp, fingerprintOf(tokenKey('mashery', UNKNOWN)));
      assert.ok(!cli.stdout.includes(GOOD) && !cli.stdout.includes(UNKNOWN), 'no raw token in the logs');
      assert.ok(!cli.stdout.includes('secret=q'), 'no query string in the logs');
    });

    test('SIGHUP with an invalid file: "configuration refused" logged, the old routes still work', async () => {
      await dir.write('serve.yaml', TYPO_CONFIG);
      cli.signal('SIGHUP');
      const refused = await cli.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('configuration refused'), 'the "configuration refused" line');
      assert.ok(Array.isArray(refused.problems) && refused.problems.includes('routes[0].upstreem: unknown key (did you mean upstream?)'), JSON.stringify(refused));
      assert.ok(cli.running, 'still running');
      const res = await get(`${url}/orders/after-bad-reload`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.equal(backend.received.at(-1)!.url, '/orders/after-bad-reload');
    });

    test('SIGHUP with a changed valid file: the new route works, the removed one is gone', async () => {
      await dir.write('serve.yaml', serveConfig(seed, backend.url, ['/v2']));
      cli.signal('SIGHUP');
      await cli.waitForLog((l) => l.msg === 'configuration reloaded', 'the "configuration reloaded" line');
      const res = await get(`${url}/v2/items`);
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { url: string }).url, '/v2/items');
      const gone = await get(`${url}/orders/1`);
      assert.equal(gone.status, 404);
      assert.equal(((await gone.json()) as { errors: { type: string }[] }).errors[0].type, 'NotFoundError');
    });

    test('SIGINT stops it with exit 0', async () => {
      cli.signal('SIGINT');
      const result = await cli.exit(5_000);
      assert.equal(result.signal, null);
      assert.equal(result.code, 0, result.stderr);
      assertNoStack(result);
    });
  });

  test('SIGTERM while a slow request is in flight: the request completes with 200, then exit 0', async () => {
    const file = await dir.write('slow.yaml', serveConfig(seed, slowBackend.url));
    const cli = serve(file);
    const url = await cli.listening();
    const before = slowBackend.received.length;
    const inFlight = get(`${url}/orders/slow`);
    // The request has reached the backend, which answers 500 ms later.
    await cli.waitFor(() => (slowBackend.received.length > before ? true : undefined), 'the request to reach the backend');
    cli.signal('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { url: string }).url, '/orders/slow');
    const result = await cli.exit(5_000);
    assert.equal(result.signal, null);
    assert.equal(result.code, 0, result.stderr);
    assertNoStack(result);
    assert.ok(cli.jsonLines().some((l) => l.msg === 'request' && l.path === '/orders/slow' && l.status === 200), 'the drained request was logged');
  });

  test('a port already taken: exit 1, naming which port and where; never half-started', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const taken = (blocker.address() as AddressInfo).port;
    try {
      const adminTaken = await dir.write('admin-taken.yaml', `${serveConfig(seed, backend.url)}admin: { host: 127.0.0.1, port: ${taken} }\n`);
      const admin = await serve(adminTaken).exit(5_000);
      assert.equal(admin.code, 1, admin.stderr);
      assert.match(admin.stderr, new RegExp(`cannot listen on the admin port 127\\.0\\.0\\.1:${taken} \\(EADDRINUSE`));
      assert.ok(!admin.stdout.includes('"msg":"listening"'));
      assertNoStack(admin);

      const mainTaken = await dir.write('main-taken.yaml', serveConfig(seed, backend.url).replace('port: 0', `port: ${taken}`));
      const single = await serve(mainTaken).exit(5_000);
      assert.equal(single.code, 1);
      assert.match(single.stderr, new RegExp(`cannot listen on the gateway port 127\\.0\\.0\\.1:${taken}`));

      const workers = startCli(['serve', '--config', mainTaken, '--workers', '2'], { env: { SEED_API_KEY: API_KEY } });
      running.push(workers);
      const clustered = await workers.exit(10_000);
      assert.equal(clustered.code, 1, 'the primary does not keep running with workers that never listen');
      assert.match(clustered.stderr, /cannot listen on the gateway port/);
    } finally {
      blocker.close();
    }
  });

  test('TOKENGATE_LOG_LEVEL=warn: no request lines; a wrong level is refused clearly (exit 1)', async () => {
    const port = await closedPort();
    const file = await dir.write('quiet.yaml', serveConfig(seed, backend.url).replace('port: 0', `port: ${port}`));
    const quiet = startCli(['serve', '--config', file], { env: { SEED_API_KEY: API_KEY, TOKENGATE_LOG_LEVEL: 'warn' } });
    running.push(quiet);
    let status = 0;
    for (let attempt = 0; attempt < 50 && status === 0; attempt++) {
      status = await get(`http://127.0.0.1:${port}/orders/quiet`).then(async (res) => (await res.arrayBuffer(), res.status)).catch(() => 0);
      if (status === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 200);
    quiet.signal('SIGTERM');
    const result = await quiet.exit(5_000);
    assert.equal(result.code, 0);
    assert.ok(!result.stdout.includes('"msg":"request"') && !result.stdout.includes('"msg":"listening"'), result.stdout);

    const bogus = await runCli(['serve', '--config', file], { env: { SEED_API_KEY: API_KEY, TOKENGATE_LOG_LEVEL: 'bogus' } });
    assert.equal(bogus.code, 1);
    assert.equal(bogus.stderr, 'tokengate serve: TOKENGATE_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent; it is "bogus"\n');
  });

  test('lifecycle lines come after the request lines before them (reload, drain, stop)', async () => {
    const file = await dir.write('order.yaml', serveConfig(seed, backend.url));
    const cli = serve(file);
    const url = await cli.listening();
    const res = await get(`${url}/orders/before-reload`);
    await res.arrayBuffer();
    cli.signal('SIGHUP');
    await cli.waitForLog((l) => l.msg === 'configuration reloaded', 'reloaded');
    const res2 = await get(`${url}/orders/before-stop`);
    await res2.arrayBuffer();
    cli.signal('SIGTERM');
    await cli.exit(5_000);
    const messages = cli.jsonLines().map((l) => (l.msg === 'request' ? `request ${String(l.path)}` : String(l.msg)));
    const order = ['request /orders/before-reload', 'configuration reloaded', 'request /orders/before-stop', 'draining', 'stopped'].map((m) => messages.indexOf(m));
    assert.ok(order.every((at) => at >= 0), messages.join('\n'));
    assert.deepEqual([...order].sort((x, y) => x - y), order, messages.join('\n'));
  });

  test('a bad configuration at start-up exits 1 with the same lines as check, no stack trace', async () => {
    const file = await dir.write('bad-start.yaml', MANY_PROBLEMS_CONFIG);
    const [served, checked] = await Promise.all([serve(file).exit(5_000), runCli(['check', '--config', file])]);
    assert.equal(served.code, 1);
    assert.equal(checked.code, 1);
    assert.ok(!served.stdout.includes('"msg":"listening"'));
    assert.equal(served.stderr, checked.stderr);
    assert.equal(problemLines(served).length, MANY_PROBLEMS_PATHS.length);
    assertNoStack(served);
  });
});

describe('probe', { concurrency: 4 }, () => {
  let seed: SeedEndpoint;
  let dir: TempDir;
  let file: string;
  let closedFile: string;
  const probe = (token: string, config = file, input?: string) =>
    runCli(['probe', '--config', config, '--validator', 'mashery', '--token', token], { env: { SEED_API_KEY: API_KEY }, ...(input === undefined ? {} : { input }) });
  const assertNoToken = (result: CliResult, token: string) => {
    assert.ok(!result.stdout.includes(token) && !result.stderr.includes(token), 'the raw token is never printed');
    assert.ok(!result.stdout.includes('cli-good') && !result.stdout.includes('cli-unknown'), 'no part of the token is printed');
    assert.ok(lines(result.stdout).includes(`token fingerprint: ${fingerprintOf(tokenKey('mashery', token))}`), result.stdout);
  };

  before(async () => {
    [seed, dir] = await Promise.all([startSeedEndpoint({ apiKey: API_KEY, users: new Map([[GOOD, SEED_USER_INFO]]) }), tempDir()]);
    file = await dir.write('probe.yaml', serveConfig(seed, 'http://127.0.0.1:9'));
    closedFile = await dir.write('closed.yaml', serveConfig({ ...seed, validationUrl: `http://127.0.0.1:${await closedPort()}/GetUserDetails` }, 'http://127.0.0.1:9'));
  });
  after(async () => {
    await Promise.all([seed?.close(), dir?.remove()]);
  });

  test('a known token: exit 0, decision valid, status 200 and the identity headers', async () => {
    const result = await probe(GOOD);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const out = lines(result.stdout);
    assert.ok(out.includes('decision: valid'), result.stdout);
    assert.ok(out.some((line) => /^status: 200\b/.test(line)), result.stdout);
    assert.ok(out.includes('  X-User-Id: abcd23456'), result.stdout);
    assert.ok(out.includes('  X-User-Last-Name: öhlundi'), result.stdout);
    assert.ok(out.includes('route /orders: allowed'), result.stdout);
    assertNoToken(result, GOOD);
    assertNoStack(result);
  });

  test('an unknown token: exit 1, decision invalid (the seed 401 body, which repeats the token, is not printed)', async () => {
    const result = await probe(UNKNOWN);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const out = lines(result.stdout);
    assert.ok(out.some((line) => /^status: 401\b/.test(line)), result.stdout);
    assert.ok(out.some((line) => line.startsWith('decision: invalid')), result.stdout);
    assert.ok(!out.some((line) => line.startsWith('decision: valid')), result.stdout);
    assertNoToken(result, UNKNOWN);
    assertNoStack(result);
  });

  test('a validator on a closed port: exit 2, decision unavailable', async () => {
    const result = await probe(GOOD, closedFile);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.ok(lines(result.stdout).some((line) => line.startsWith('decision: unavailable')), result.stdout);
    assertNoToken(result, GOOD);
    assertNoStack(result);
  });

  test('--json: one JSON object with status, decision, reason, active, exp, scopes, timing and identity headers', async () => {
    const result = await runCli(['probe', '--config', file, '--token', GOOD, '--json'], { env: { SEED_API_KEY: API_KEY } });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(report.decision, 'valid');
    assert.equal(report.status, 200);
    assert.equal(report.reason, null);
    assert.equal(report.active, true);
    assert.equal(typeof report.ms, 'number');
    assert.deepEqual(report.scopes, []);
    assert.deepEqual(report.routes, [{ path: '/orders', allowed: true, missingScopes: [], identity: { 'X-User-Id': 'abcd23456', 'X-User-Last-Name': 'öhlundi' }, dropped: [] }]);
    assert.equal(report.fingerprint, fingerprintOf(tokenKey('mashery', GOOD)));
    assert.equal(result.stdout.includes(GOOD), false);
    assert.equal(result.stdout.trim().split('\n').length, 1, 'one line');
  });

  test('--validator may be left out with one validator; a non-200 shows its first bytes (the echoed token hidden) and a hint', async () => {
    const result = await runCli(['probe', '--config', file, '--token', UNKNOWN], { env: { SEED_API_KEY: API_KEY } });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const body = lines(result.stdout).find((line) => line.startsWith('body (first bytes): '));
    assert.ok(body !== undefined, result.stdout);
    assert.match(body, /Invalid access token: \[token [0-9a-f]{8}\]/);
    assert.ok(lines(result.stdout).some((line) => line.startsWith("hint: a 401 or 403 from an introspection endpoint usually means the gateway's own credentials")), result.stdout);
    assertNoToken(result, UNKNOWN);
  });

  test('a wrong api_key (403 from the endpoint) is told apart from a bad token by its body and hint', async () => {
    const result = await runCli(['probe', '--config', file, '--token', GOOD, '--json'], { env: { SEED_API_KEY: 'wrong-key' } });
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(report.status, 403);
    assert.match(String(report.body), /Invalid api_key/);
    assert.match(String(report.hint), /credentials/);
  });

  test('a configuration error exits 3 (not 2, which is "unavailable"), naming the key', async () => {
    const broken = await dir.write('broken.yaml', 'validators: {}\nroutes: [{ path: /a, upstream: nope }]\n');
    const result = await runCli(['probe', '--config', broken, '--token', GOOD]);
    assert.equal(result.code, 3, result.stdout + result.stderr);
    assert.match(result.stderr, /routes\[0\]\.upstream: must be an http or https URL/);
  });

  test('usage errors exit 64 and point at --help; --help exits 0', async () => {
    const usage = await runCli(['probe', '--config', file]);
    assert.equal(usage.code, 64);
    assert.match(usage.stderr, /--token TOKEN is required[\s\S]*tokengate probe --help/);
    const help = await runCli(['probe', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: tokengate probe/);
  });

  test('--token - reads the token from stdin', async () => {
    const result = await probe('-', file, `${GOOD}\n`);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.ok(lines(result.stdout).includes('decision: valid'), result.stdout);
    assertNoToken(result, GOOD);
    const unknown = await probe('-', file, UNKNOWN);
    assert.equal(unknown.code, 1, unknown.stdout + unknown.stderr);
    assertNoToken(unknown, UNKNOWN);
  });
});

describe('demo', () => {
  let cli: CliProcess | undefined;
  after(() => cli?.kill());

  test('prints curl lines that work as printed; SIGINT stops it with exit 0', async () => {
    cli = startCli(['demo', '--port', '0']);
    const out = await cli.waitFor(() => (cli!.stdout.includes('Ctrl-C stops') ? cli!.stdout : undefined), 'the demo banner', 10_000);

    const gatewayUrl = /^\s*gateway\s+(http:\/\/127\.0\.0\.1:\d+)\s*$/m.exec(out)?.[1];
    assert.ok(gatewayUrl !== undefined, out);
    assert.notEqual(gatewayUrl, 'http://127.0.0.1:0');

    const api = /curl -i -H 'Authorization: Bearer ([^'\s]+)' (http:\/\/\S+\/api\/orders)\s*$/m.exec(out);
    assert.ok(api !== null, out);
    const [, token, apiUrl] = api;
    assert.equal(apiUrl, `${gatewayUrl}/api/orders`);
    const client = /curl -s -u '([^':]+):[^']*' -d grant_type=client_credentials/.exec(out)?.[1];
    assert.ok(client !== undefined, out);

    const res = await fetch(apiUrl, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, await res.clone().text());
    const echoed = (await res.json()) as { url: string; headers: Record<string, string> };
    assert.equal(echoed.url, '/api/orders');
    assert.equal(echoed.headers['x-client-id'], client);
    assert.equal(echoed.headers['x-scopes'], 'orders:read profile');

    const seedLine = /curl -i -H 'Authorization: Bearer ([^'\s]+)' (http:\/\/\S+\/store\/profile)\s*$/m.exec(out);
    assert.ok(seedLine !== null, out);
    const profile = await fetch(seedLine[2], { headers: { Authorization: `Bearer ${seedLine[1]}` } });
    const body = await profile.text();
    assert.equal(profile.status, 200, body);
    assert.ok(body.includes('öhlundi'), body);

    const refused = await fetch(apiUrl, { headers: { Authorization: 'Bearer made-up-token' } });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();

    // From the demo to the next steps: the printed configuration, probe and the admin port.
    const file = /^\s*configuration\s+(\S+demo\.yaml)\s*$/m.exec(out)?.[1];
    assert.ok(file !== undefined, out);
    const checked = await runCli(['check', '--config', file]);
    assert.equal(checked.code, 0, checked.stderr);
    const probeLine = /^\s*bin\/tokengate (probe --config \S+ --validator demo-as --token \S+)\s*$/m.exec(out)?.[1];
    assert.ok(probeLine !== undefined, out);
    const probed = await runCli(probeLine.split(' '));
    assert.equal(probed.code, 0, probed.stdout + probed.stderr);
    assert.ok(lines(probed.stdout).includes('decision: valid'), probed.stdout);
    const adminUrl = /^\s*admin\s+(http:\/\/127\.0\.0\.1:\d+)\s/m.exec(out)?.[1];
    assert.ok(adminUrl !== undefined, out);
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    assert.match(metrics, /^tokengate_requests_total\{face="proxy",route="\/api",outcome="allow"\} 1$/m);
    const revoked = await fetch(`${adminUrl}/revoke`, { method: 'POST', body: JSON.stringify({ token }) });
    assert.deepEqual(await revoked.json(), { forgotten: 1, validators: 2, everywhere: false });
    assert.match(out, new RegExp(`seed-style endpoint\\s+http://127\\.0\\.0\\.1:\\d+/uat/se/storel/GetUserDetails\\?api_key=demo-api-key`));
    assert.match(out, /introspection\s+http:\/\/127\.0\.0\.1:\d+\/token\/introspection/);

    cli.signal('SIGINT');
    const result = await cli.exit(5_000);
    assert.equal(result.signal, null);
    assert.equal(result.code, 0, result.stderr);
    assertNoStack(result);
  });
});
