/**
 * `serve --workers N` (SPEC sections 2 and 6), through the real `bin/tokengate` (compiled dist/):
 * a primary and two workers sharing one port. Both report ready; the admin port (served by the
 * primary) reports readiness of every worker, sums metrics across workers and sends revocations to
 * every worker; a worker killed with SIGKILL is replaced while the service keeps answering; SIGHUP
 * reloads every worker (and a bad file is refused); SIGTERM drains and leaves no process behind.
 *
 * Every request here uses a fresh connection: a pooled keep-alive connection stays with the worker
 * that accepted it, which would hide how connections are spread (and would be cut by the kill).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startCli, tempDir, type CliProcess, type TempDir } from '../fixtures/cli.js';
import { freePort } from '../fixtures/ports.js';

const GOOD = '5f0c1c2e-workers-4b7e-good';
const API_KEY = 'workers-k3y';
const WORKERS = 2;

type Line = Record<string, unknown>;

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A port that was free a moment ago (bound on port 0, then released). */

/** One HTTP exchange on its own connection (no agent, `connection: close`). */
function send(port: number, path: string, options: { method?: string; token?: string | null; body?: string; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'close' };
    const token = options.token === undefined ? GOOD : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(options.body));
    }
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    const timeoutMs = options.timeoutMs ?? 5_000;
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms for ${path}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The value of one sample in Prometheus text format, labels in any order; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of match[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found[pair[1]] = pair[2]!;
    if (Object.keys(labels).length === Object.keys(found).length && Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

describe('serve --workers 2', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let slowBackend: SampleBackend;
  let dir: TempDir;
  let file: string;
  let port: number;
  let adminPort: number;
  let cli: CliProcess;
  /** Every worker pid ever reported ready (for the final no-leftover check and the cleanup). */
  const everyWorker = new Set<number>();
  /** The pids of the workers serving now. */
  let current: number[] = [];
  /** /orders requests answered 200 while no worker had died (for the summed metrics). */
  let ordersAllowed = 0;

  const config = (extraRoutes: string[] = []): string => `server: { host: 127.0.0.1, port: ${port} }
admin: { host: 127.0.0.1, port: ${adminPort} }
validators:
  seed:
    url: ${seed.validationUrl}
    query: { api_key: "\${SEED_API_KEY}" }
routes:
  - path: /orders
    upstream: ${backend.url}
    identityHeaders: { X-User-Id: uid }
  - path: /slow
    upstream: ${slowBackend.url}
${extraRoutes.map((path) => `  - path: ${path}\n    upstream: ${backend.url}\n`).join('')}`;

  const get = (path: string, timeoutMs?: number) => send(port, path, timeoutMs === undefined ? {} : { timeoutMs });
  const admin = (path: string, method = 'GET', body?: string) => send(adminPort, path, { method, token: null, ...(body === undefined ? {} : { body }) });

  /** JSON log lines written at or after `since` (ms since the epoch; pino's `time`). */
  const linesSince = (since: number): Line[] => cli.jsonLines().filter((l) => typeof l.time === 'number' && l.time >= since);
  const accessLines = (since: number, pathPrefix: string): Line[] =>
    linesSince(since).filter((l) => l.msg === 'request' && typeof l.path === 'string' && l.path.startsWith(pathPrefix));

  /** Sends requests (fresh connections) until every current worker has logged one; returns the answers. */
  const spread = async (pathPrefix: string, atLeast = 4, max = 40): Promise<{ answers: Answer[]; lines: Line[] }> => {
    const since = Date.now();
    const answers: Answer[] = [];
    for (let i = 0; i < max; i++) {
      answers.push(await get(`${pathPrefix}-${i}`));
      if (i + 1 < atLeast) continue;
      const pids = new Set(accessLines(since, `${pathPrefix}-`).map((l) => l.pid));
      if (current.every((pid) => pids.has(pid))) break;
      await sleep(30); // access lines are written in batches every 100 ms
    }
    // Let the last batch of access lines out.
    const lines = await cli.waitFor(() => {
      const found = accessLines(since, `${pathPrefix}-`);
      return found.length === answers.length ? found : undefined;
    }, `${answers.length} access lines for ${pathPrefix}-*`);
    return { answers, lines };
  };

  before(async () => {
    [seed, backend, slowBackend, dir, port, adminPort] = await Promise.all([
      startSeedEndpoint({ apiKey: API_KEY, users: new Map([[GOOD, SEED_USER_INFO]]) }),
      startSampleBackend(),
      startSampleBackend({ delayMs: 400 }),
      tempDir('tokengate-workers-'),
      freePort(),
      freePort(),
    ]);
    assert.notEqual(port, adminPort);
    file = await dir.write('workers.yaml', config());
    cli = startCli(['serve', '--config', file, '--workers', String(WORKERS)], { env: { SEED_API_KEY: API_KEY } });
  });

  after(async () => {
    await cli?.kill();
    // Should a worker have outlived its primary (a failed test), do not leave it running; the
    // command line is checked first so that a recycled pid is never touched.
    for (const pid of everyWorker) {
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (cmdline.includes('tokengate')) process.kill(pid, 'SIGKILL');
    }
    await Promise.all([seed?.close(), backend?.close(), slowBackend?.close(), dir?.remove()]);
  });

  test('both workers report ready to the primary, each with its pid', async () => {
    const ready = await cli.waitFor(() => {
      const lines = cli.jsonLines().filter((l) => l.msg === 'worker ready');
      return lines.length >= WORKERS ? lines : undefined;
    }, `${WORKERS} "worker ready" lines`, 10_000);
    const pids = ready.map((l) => l.workerPid);
    for (const pid of pids) assert.ok(typeof pid === 'number' && Number.isInteger(pid) && pid > 0, JSON.stringify(ready));
    current = pids as number[];
    current.forEach((pid) => everyWorker.add(pid));
    assert.equal(new Set(current).size, WORKERS, 'two distinct worker processes');
    assert.ok(!current.includes(cli.child.pid!), 'the workers are not the primary');
    for (const pid of current) assert.ok(isAlive(pid), `worker ${pid} runs`);
    for (const line of ready) assert.equal(line.pid, cli.child.pid, 'the primary logs "worker ready"');
    const started = cli.jsonLines().find((l) => l.msg === 'primary started');
    assert.equal(started?.workers, WORKERS, JSON.stringify(started));
  });

  test('requests are answered 200 by both workers on the one port; /readyz reports every worker', async () => {
    const { answers, lines } = await spread('/orders/spread');
    for (const answer of answers) {
      assert.equal(answer.status, 200, answer.body);
      assert.equal((JSON.parse(answer.body) as { headers: Record<string, string> }).headers['x-user-id'], SEED_USER_INFO.uid);
    }
    ordersAllowed += answers.length;
    assert.deepEqual(new Set(lines.map((l) => l.pid)), new Set(current), 'both workers served requests');

    const ready = await admin('/readyz');
    assert.equal(ready.status, 200, ready.body);
    const body = JSON.parse(ready.body) as { status: string; checks: Record<string, boolean> };
    assert.equal(body.status, 'ready');
    assert.equal(body.checks.workers, true, ready.body);
    assert.ok(Object.values(body.checks).every((value) => value === true), ready.body);

    const health = await admin('/healthz');
    assert.equal(health.status, 200, health.body);
  });

  test('/metrics on the primary sums the requests of every worker', async () => {
    // A few more, so that both workers have counted several.
    const { answers } = await spread('/orders/metered', 6);
    for (const answer of answers) assert.equal(answer.status, 200, answer.body);
    ordersAllowed += answers.length;

    // The count is taken as the exchange ends, a moment after the client has its answer.
    const deadline = Date.now() + 2_000;
    let text: string;
    let value: number | undefined;
    for (;;) {
      const res = await admin('/metrics');
      assert.equal(res.status, 200, res.body);
      text = res.body;
      value = sample(text, 'tokengate_requests_total', { face: 'proxy', route: '/orders', outcome: 'allow' });
      if (value === ordersAllowed || Date.now() > deadline) break;
      await sleep(100);
    }
    assert.equal(value, ordersAllowed, `tokengate_requests_total{route="/orders",outcome="allow"} in:\n${text.split('\n').filter((l) => l.startsWith('tokengate_requests_total')).join('\n')}`);
    // Each worker served fewer than that, so no single worker's registry could have answered it.
    const perWorker = new Map<unknown, number>();
    for (const line of accessLines(0, '/orders/')) if (line.status === 200) perWorker.set(line.pid, (perWorker.get(line.pid) ?? 0) + 1);
    assert.equal(perWorker.size, WORKERS);
    for (const count of perWorker.values()) assert.ok(count < ordersAllowed, `per worker ${[...perWorker.values()].join(', ')}`);
  });

  test('a worker killed with SIGKILL is replaced; the service answers 200 throughout', async () => {
    const victim = current[0];
    const survivor = current[1];
    const since = Date.now();
    const readyBefore = cli.jsonLines().filter((l) => l.msg === 'worker ready').length;
    const statuses: (number | string)[] = [];
    const KILL_AT = 5;
    let replacement: number | undefined;
    let served = false;
    const deadline = Date.now() + 8_000;
    // One request after another; the kill lands between two of them, so no request of ours is on
    // the victim when it dies, and the next ones arrive while the primary is noticing the death.
    for (let i = 0; Date.now() < deadline; i++) {
      if (i === KILL_AT) process.kill(victim, 'SIGKILL');
      try {
        statuses.push((await get(`/orders/kill-${i}`, 2_000)).status);
      } catch (error) {
        statuses.push(`request ${i}: ${(error as Error).message}`);
      }
      if (i < KILL_AT + 10) continue;
      replacement ??= linesSince(since).find((l) => l.msg === 'worker ready')?.workerPid as number | undefined;
      served = replacement !== undefined && accessLines(since, '/orders/kill-').some((l) => l.pid === replacement);
      if (served) break;
      await sleep(20);
    }
    // The later tests work with whichever workers run now, whatever this test concludes.
    if (replacement !== undefined) {
      everyWorker.add(replacement);
      current = [survivor, replacement];
    }
    assert.ok(statuses.length > KILL_AT + 10, 'requests were sent after the kill');
    assert.deepEqual(
      statuses.filter((status) => status !== 200),
      [],
      `every request before, during and after the kill is answered 200 (${statuses.length} sent; a connection that ` +
        'hangs right after the kill was handed by the primary to the dead worker: node:cluster round-robin loses it)',
    );

    const died = linesSince(since).find((l) => l.msg === 'worker died; starting another');
    assert.ok(died !== undefined, 'the primary logs "worker died; starting another"');
    assert.equal(died.workerPid, victim);
    assert.equal(died.signal, 'SIGKILL');
    assert.ok(!isAlive(victim), 'the killed worker is gone');

    assert.ok(replacement !== undefined, `a new worker became ready\n${cli.stdout.slice(-2_000)}`);
    assert.equal(cli.jsonLines().filter((l) => l.msg === 'worker ready').length, readyBefore + 1, 'exactly one replacement');
    assert.ok(![victim, survivor].includes(replacement), 'the replacement is a new process');
    assert.ok(isAlive(replacement));
    assert.ok(served, 'the replacement serves requests on the shared port');

    const ready = await admin('/readyz');
    assert.equal(ready.status, 200, ready.body);
    assert.equal((JSON.parse(ready.body) as { checks: Record<string, boolean> }).checks.workers, true, ready.body);
  });

  test('POST /revoke on the primary reaches every worker: {"forgotten":N,"workers":2}, each forgets the token', async () => {
    // Both current workers have the token cached (a hit each).
    const warm = Date.now();
    for (let i = 0; i < 40; i++) {
      const answer = await get(`/orders/warm-${i}`);
      assert.equal(answer.status, 200, answer.body);
      const hits = new Set(accessLines(warm, '/orders/warm-').filter((l) => l.cache === 'hit').map((l) => l.pid));
      if (current.every((pid) => hits.has(pid))) break;
      await sleep(30);
    }
    const hits = new Set(accessLines(warm, '/orders/warm-').filter((l) => l.cache === 'hit').map((l) => l.pid));
    assert.deepEqual(hits, new Set(current), 'both workers serve the token from their cache');

    const callsBefore = seed.calls.get(GOOD) ?? 0;
    const res = await admin('/revoke', 'POST', JSON.stringify({ token: GOOD }));
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { forgotten: WORKERS, workers: WORKERS, everywhere: false }, 'each worker had it cached');

    const { answers, lines } = await spread('/orders/revoked');
    for (const answer of answers) assert.equal(answer.status, 200, answer.body);
    for (const pid of current) {
      const first = lines.find((l) => l.pid === pid);
      assert.ok(first !== undefined, `worker ${pid} served a request after the revocation`);
      assert.notEqual(first.cache, 'hit', `worker ${pid} no longer had the token cached: ${JSON.stringify(first)}`);
    }
    assert.ok((seed.calls.get(GOOD) ?? 0) - callsBefore >= WORKERS, 'each worker asked the validator again');
  });

  test('SIGHUP with a changed valid file: every worker serves the new route', async () => {
    const before = await get('/v2/before');
    assert.equal(before.status, 404, before.body);

    const since = Date.now();
    await dir.write('workers.yaml', config(['/v2']));
    cli.signal('SIGHUP');
    const reloaded = await cli.waitFor(() => {
      const lines = linesSince(since).filter((l) => l.msg === 'configuration reloaded');
      return lines.length >= WORKERS ? lines : undefined;
    }, `${WORKERS} "configuration reloaded" lines`);
    assert.deepEqual(new Set(reloaded.map((l) => l.pid)), new Set(current), 'each worker reloaded once');

    const { answers, lines } = await spread('/v2/items', 8);
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.status, 200, answer.body);
      assert.equal((JSON.parse(answer.body) as { url: string }).url, `/v2/items-${i}`);
    }
    assert.deepEqual(new Set(lines.map((l) => l.pid)), new Set(current), 'both workers served the new route');
    assert.ok(lines.every((l) => l.status === 200 && l.route === 2), JSON.stringify(lines));
  });

  test('SIGHUP with an invalid file: the primary logs "configuration refused", the routes in force still work', async () => {
    const since = Date.now();
    await dir.write('workers.yaml', `validators:\n  v: { url: "http://127.0.0.1:1/validate" }\nroutes:\n  - path: /a\n    upstreem: http://127.0.0.1:3000\n`);
    cli.signal('SIGHUP');
    const refused = await cli.waitForLog(
      (l) => typeof l.time === 'number' && l.time >= since && typeof l.msg === 'string' && l.msg.includes('configuration refused'),
      'the "configuration refused" line',
    );
    assert.equal(refused.pid, cli.child.pid, 'logged by the primary');
    assert.ok(Array.isArray(refused.problems) && refused.problems.includes('routes[0].upstreem: unknown key (did you mean upstream?)'), JSON.stringify(refused));
    assert.ok(cli.running, 'the primary still runs');
    for (const pid of current) assert.ok(isAlive(pid), `worker ${pid} still runs`);

    for (const prefix of ['/orders/after-refused', '/v2/after-refused']) {
      const { answers, lines } = await spread(prefix);
      for (const answer of answers) assert.equal(answer.status, 200, `${prefix}: ${answer.body}`);
      assert.deepEqual(new Set(lines.map((l) => l.pid)), new Set(current), `both workers still serve ${prefix}`);
    }
    assert.equal(linesSince(since).filter((l) => l.msg === 'configuration reloaded').length, 0, 'no worker took the bad file');
  });

  test('SIGTERM with a slow request in flight: it completes 200, the primary exits 0, no worker is left', async () => {
    const seen = slowBackend.received.length;
    const inFlight = get('/slow/drain');
    // The request has reached the backend, which answers 400 ms later.
    await cli.waitFor(() => (slowBackend.received.length > seen ? true : undefined), 'the slow request to reach the backend');
    cli.signal('SIGTERM');
    const answer = await inFlight;
    assert.equal(answer.status, 200, answer.body);
    assert.equal((JSON.parse(answer.body) as { url: string }).url, '/slow/drain');

    const result = await cli.exit(8_000);
    assert.equal(result.signal, null);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.ok(cli.jsonLines().some((l) => l.msg === 'draining workers'), 'the primary drained its workers');

    assert.ok(everyWorker.size >= WORKERS + 1);
    for (const pid of everyWorker) {
      assert.throws(() => process.kill(pid, 0), (error: NodeJS.ErrnoException) => error.code === 'ESRCH', `worker ${pid} is gone`);
    }
    await assert.rejects(send(port, '/orders/after-exit'), { code: 'ECONNREFUSED' }, 'nothing listens on the port');
    await assert.rejects(admin('/healthz'), { code: 'ECONNREFUSED' }, 'nothing listens on the admin port');
  });
});
