/**
 * `npm run bench`: tokengate side by side with a bare Node proxy and nginx, one process each, the
 * same load for all, one table of req/s, p50, p99 and validator calls, and the targets as ratios
 * measured in this run. Results go to bench/results/latest.json and are compared with the run
 * before (or, on a fresh clone, with bench/results/baseline.json, the run in the README). Options: --seconds N (measured, default 4), --warmup N (default 2), --rounds N (default
 * 3, interleaved; each row reports its median round), --only NAME[,NAME] (scenarios by name).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hasWrk, runLoad, type LoadResult, type Workload } from './lib/load.js';
import { nginxAuthRequestConfig } from '../test/fixtures/nginx.js';
import { authRequestConfig, forwardAuthHttp, nginxBinary, readLogLines, startNginx, stubConfig } from './lib/nginx.js';
import { cpuSeconds, freePort, startChild, waitForHttp, type Child } from './lib/processes.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    connections: { type: 'string', default: '50' },
  },
});
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const VALIDATOR_PATH = '/uat/se/storel/GetUserDetails';

const scratch = mkdtempSync(join(tmpdir(), 'tokengate-bench-'));
const nginx = nginxBinary();
const children: Child[] = [];
const tsxNode = (script: string, ...rest: string[]) => startChild(process.execPath, ['--import', 'tsx', join(root, script), ...rest]);

// ---- stubs: a cheap backend and validator (nginx when installed), and a 10 ms validator (Node) ----
interface Stubs {
  readonly backend: string;
  readonly validator: string;
  readonly slowValidator: string;
  validatorCalls(slow: boolean): Promise<number>;
  /** The Authorization of every request the backend served so far ('-' when none). */
  backendTokens(): Promise<string[]>;
}

async function startStubs(): Promise<Stubs> {
  const [backendPort, validatorPort, slowBackendPort, slowPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const slow = tsxNode('bench/stub-server.ts', '0', String(slowPort), '10');
  children.push(slow);
  const slowStats = async () => (await (await fetch(`http://127.0.0.1:${slowPort}/_stats`)).json()) as { validatorCalls: number; backendLog: string[] };
  if (nginx !== null) {
    const dir = join(scratch, 'stubs');
    const stub = startNginx(nginx, dir, stubConfig(dir, backendPort, validatorPort));
    children.push(stub);
    await Promise.all([waitForHttp(`http://127.0.0.1:${backendPort}/`), waitForHttp(`http://127.0.0.1:${slowPort}/_stats`)]);
    return {
      backend: `127.0.0.1:${backendPort}`,
      validator: `127.0.0.1:${validatorPort}`,
      slowValidator: `127.0.0.1:${slowPort}`,
      validatorCalls: async (isSlow) => (isSlow ? (await slowStats()).validatorCalls : (await readLogLines(stub, join(dir, 'validator.log'))).length),
      backendTokens: () => readLogLines(stub, join(dir, 'backend.log')),
    };
  }
  console.log('nginx is not installed: Node stubs stand in for the backend and validator, and the nginx peers are skipped.');
  const node = tsxNode('bench/stub-server.ts', String(slowBackendPort), String(validatorPort), '0');
  children.push(node);
  await Promise.all([waitForHttp(`http://127.0.0.1:${slowBackendPort}/`), waitForHttp(`http://127.0.0.1:${slowPort}/_stats`)]);
  const stats = async () => (await (await fetch(`http://127.0.0.1:${validatorPort}/_stats`)).json()) as { validatorCalls: number; backendLog: string[] };
  return {
    backend: `127.0.0.1:${slowBackendPort}`,
    validator: `127.0.0.1:${validatorPort}`,
    slowValidator: `127.0.0.1:${slowPort}`,
    validatorCalls: async (isSlow) => (isSlow ? (await slowStats()).validatorCalls : (await stats()).validatorCalls),
    backendTokens: async () => (await stats()).backendLog,
  };
}

// ---- contenders ----
type ContenderKind =
  | 'bare' | 'bare-dispatch' | 'bare-two-hop' | 'tokengate-none' | 'tokengate' | 'tokengate-quiet' | 'tokengate-nocache' | 'nginx-auth' | 'nginx-auth-cache'
  | 'nginx-fa-stub' | 'nginx-fa-tokengate' | 'nginx-fa-tokengate-nocache';

interface Contender {
  readonly url: string;
  /** The processes whose CPU the row counts (nginx and its decision endpoint for forward-auth rows). */
  readonly children: readonly Child[];
}

/** tokengate as a process: `serve` on a JSON configuration, its log to a file as in production. */
async function startTokengate(port: number, config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const file = join(scratch, `tokengate-${port}.json`);
  // One load generator is one client: its per-client budget would throttle the miss rows.
  writeFileSync(file, JSON.stringify({ server: { host: '127.0.0.1', port, clientLimits: { validatorCallsInFlight: 100_000, validatorCallsPerSecond: 1_000_000 } }, ...config }));
  const { openSync } = await import('node:fs');
  return startChild(process.execPath, [join(root, 'bin/tokengate'), 'serve', '--config', file], { env, stdout: openSync(join(scratch, `tokengate-${port}.log`), 'a') });
}

/** nginx auth_request in front of a decision endpoint, configured as README's forward-auth section says. */
async function startForwardAuth(kind: 'nginx-fa-stub' | 'nginx-fa-tokengate' | 'nginx-fa-tokengate-nocache', port: number, stubs: Stubs, validator: string): Promise<Child[]> {
  const decisionPort = await freePort();
  const decision =
    kind === 'nginx-fa-stub'
      ? tsxNode('bench/decision-stub.ts', String(decisionPort))
      : await startTokengate(decisionPort, {
          forwardAuth: { path: '/_tokengate/auth' },
          validators: { seed: { url: `http://${validator}${VALIDATOR_PATH}`, ...(kind === 'nginx-fa-tokengate-nocache' ? { cache: { ttlSeconds: 0, negativeTtlSeconds: 0 } } : {}) } },
          routes: [{ path: '/orders', identityHeaders: { 'X-User-Id': 'uid', 'X-User-Email': '$.email' } }],
        });
  await waitForHttp(`http://127.0.0.1:${decisionPort}/_tokengate/auth`);
  const dir = join(scratch, `${kind}-${port}`);
  const http = forwardAuthHttp(nginxAuthRequestConfig({ decision: `127.0.0.1:${decisionPort}`, backendUrl: `http://${stubs.backend}`, identityHeaders: ['X-User-Id', 'X-User-Email'], listen: `127.0.0.1:${port}` }), dir);
  const peer = startNginx(nginx!, dir, http);
  return [peer, decision];
}

async function startContender(kind: ContenderKind, stubs: Stubs, slowValidator: boolean): Promise<Contender> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const validator = slowValidator ? stubs.slowValidator : stubs.validator;
  let child: Child;
  if (kind === 'nginx-fa-stub' || kind === 'nginx-fa-tokengate' || kind === 'nginx-fa-tokengate-nocache') {
    const pair = await startForwardAuth(kind, port, stubs, validator);
    children.push(...pair);
    await waitForHttp(`${url}/orders/1`);
    return { url, children: pair };
  }
  switch (kind) {
    case 'bare':
    case 'bare-dispatch':
      child = tsxNode('bench/bare-proxy.ts', String(port), `http://${stubs.backend}`, kind === 'bare' ? 'request' : 'dispatch');
      break;
    case 'bare-two-hop':
      child = tsxNode('bench/bare-proxy.ts', String(port), `http://${stubs.backend}`, 'two-hop', `http://${validator}${VALIDATOR_PATH}`);
      break;
    case 'nginx-auth':
    case 'nginx-auth-cache': {
      const dir = join(scratch, `${kind}-${port}`);
      child = startNginx(nginx!, dir, authRequestConfig(dir, port, stubs.backend, validator, VALIDATOR_PATH, kind === 'nginx-auth-cache'));
      break;
    }
    default: {
      const cache = kind === 'tokengate-nocache' ? { ttlSeconds: 0, negativeTtlSeconds: 0 } : undefined;
      child = await startTokengate(port, {
        validators: { seed: { url: `http://${validator}${VALIDATOR_PATH}`, ...(cache === undefined ? {} : { cache }) } },
        routes: [
          kind === 'tokengate-none'
            ? { path: '/orders', upstream: `http://${stubs.backend}`, auth: 'none' }
            : { path: '/orders', upstream: `http://${stubs.backend}`, identityHeaders: { 'X-User-Id': 'uid', 'X-User-Email': '$.email' } },
        ],
      }, kind === 'tokengate-quiet' ? { TOKENGATE_LOG_LEVEL: 'warn' } : {});
    }
  }
  children.push(child);
  await waitForHttp(`${url}/orders/1`);
  return { url, children: [child] };
}

// ---- scenarios ----
interface Scenario {
  readonly name: string;
  readonly contender: ContenderKind;
  readonly workload: Workload;
  readonly slowValidator: boolean;
  readonly what: string;
}

// Every contender gets the same requests: the one-token workload carries an Authorization header,
// which a proxy without auth simply passes on.
const SCENARIOS: Scenario[] = [
  { name: 'bare', contender: 'bare', workload: 'hot', slowValidator: false, what: 'bare node:http + undici pool.request proxy, no auth (the reference)' },
  { name: 'bare-dispatch', contender: 'bare-dispatch', workload: 'hot', slowValidator: false, what: 'bare node:http + undici pool.dispatch proxy, no auth' },
  { name: 'bare-two-hop', contender: 'bare-two-hop', workload: 'hot', slowValidator: false, what: 'bare node:http + undici dispatch: a validator call, then the proxy (no cache, no checks)' },
  { name: 'tg-none', contender: 'tokengate-none', workload: 'hot', slowValidator: false, what: 'tokengate, auth: none' },
  { name: 'tg-hit', contender: 'tokengate', workload: 'hot', slowValidator: false, what: 'tokengate, one hot token (cache hit)' },
  { name: 'tg-hit-quiet', contender: 'tokengate-quiet', workload: 'hot', slowValidator: false, what: 'tokengate, cache hit, request lines off (TOKENGATE_LOG_LEVEL=warn)' },
  { name: 'tg-nocache', contender: 'tokengate-nocache', workload: 'hot', slowValidator: false, what: 'tokengate, caching off (one call per request)' },
  { name: 'nginx-auth', contender: 'nginx-auth', workload: 'hot', slowValidator: false, what: 'nginx auth_request, no cache' },
  { name: 'nginx-auth-cache', contender: 'nginx-auth-cache', workload: 'hot', slowValidator: false, what: 'nginx auth_request + proxy_cache' },
  { name: 'tg-pool-10ms', contender: 'tokengate', workload: 'pool', slowValidator: true, what: 'tokengate, 10,000 Zipf tokens, 10 ms validator' },
  { name: 'tg-pool-10ms-nocache', contender: 'tokengate-nocache', workload: 'pool', slowValidator: true, what: 'tokengate, caching off, 10,000 Zipf tokens, 10 ms validator' },
  { name: 'nginx-cache-pool-10ms', contender: 'nginx-auth-cache', workload: 'pool', slowValidator: true, what: 'nginx auth_request + proxy_cache, 10,000 Zipf tokens, 10 ms validator' },
  { name: 'tg-invalid', contender: 'tokengate', workload: 'invalid', slowValidator: false, what: 'tokengate, 1,000 invalid tokens (401)' },
  { name: 'fa-stub', contender: 'nginx-fa-stub', workload: 'hot', slowValidator: false, what: 'nginx auth_request -> a bare Node decision stub (forward-auth yardstick)' },
  { name: 'fa-tg-hit', contender: 'nginx-fa-tokengate', workload: 'hot', slowValidator: false, what: 'nginx auth_request -> tokengate forward-auth, cache hit' },
  { name: 'fa-tg-nocache', contender: 'nginx-fa-tokengate-nocache', workload: 'hot', slowValidator: false, what: 'nginx auth_request -> tokengate forward-auth, caching off' },
  { name: 'nginx-auth-invalid', contender: 'nginx-auth', workload: 'invalid', slowValidator: false, what: 'nginx auth_request, 1,000 invalid tokens (401)' },
];

interface Measured extends LoadResult {
  readonly name: string;
  readonly what: string;
  readonly validatorCalls: number;
  /** Requests that reached the backend during the scenario (warm-up included), counted there. */
  readonly backendRequests: number;
  readonly distinctTokens: number | null;
  readonly cpuMicrosPerRequest: number;
}

async function measure(scenario: Scenario, stubs: Stubs): Promise<Measured> {
  const callsBefore = await stubs.validatorCalls(scenario.slowValidator);
  const tokensBefore = (await stubs.backendTokens()).length;
  const { url, children: processes } = await startContender(scenario.contender, stubs, scenario.slowValidator);
  const cpuOf = async () => (await Promise.all(processes.map((p) => cpuSeconds(p.pid)))).reduce((a, b) => a + b, 0);
  try {
    await runLoad({ url, workload: scenario.workload, seconds: WARMUP, connections: CONNECTIONS, scratchDir: scratch });
    const cpuBefore = await cpuOf();
    const load = await runLoad({ url, workload: scenario.workload, seconds: SECONDS, connections: CONNECTIONS, scratchDir: scratch });
    const cpu = (await cpuOf()) - cpuBefore;
    // Requests still in flight when the load stopped (waiting on a 10 ms validator) finish first.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const validatorCalls = (await stubs.validatorCalls(scenario.slowValidator)) - callsBefore;
    const tokens = (await stubs.backendTokens()).slice(tokensBefore);
    return {
      ...load,
      name: scenario.name,
      what: scenario.what,
      validatorCalls,
      backendRequests: tokens.length,
      distinctTokens: scenario.workload === 'pool' ? new Set(tokens).size : null,
      cpuMicrosPerRequest: (cpu * 1e6) / load.requests,
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
  }
}

/** bench/memory.mjs in a process of its own (it needs --expose-gc and a clean heap). */
function measureMemory(headers: number): { rssMB: number; bytesPerEntry: number } | null {
  try {
    const out = execFileSync(process.execPath, ['--expose-gc', join(root, 'bench/memory.mjs'), '1000000', '--headers', String(headers), '--json'], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').at(-1)!) as { rssMB: number; bytesPerEntry: number };
  } catch (error) {
    console.log(`memory bench failed: ${(error as Error).message}`);
    return null;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const only = args.only?.split(',');
  const scenarios = SCENARIOS.filter((s) => (only === undefined || only.includes(s.name)) && (nginx !== null || !s.contender.startsWith('nginx')));
  if (nginx === null) console.log('nginx not found: its rows are skipped (apt-get install nginx-light to include them).');
  console.log(`load: ${hasWrk() ? 'wrk -t1' : 'autocannon'} -c${CONNECTIONS}, ${WARMUP} s warm-up + ${SECONDS} s measured, ${ROUNDS} round(s); machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}\n`);
  const stubs = await startStubs();
  const rounds: Measured[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const results: Measured[] = [];
    for (const scenario of scenarios) {
      process.stdout.write(`  round ${round + 1}: ${scenario.name} … `);
      const result = await measure(scenario, stubs);
      console.log(`${Math.round(result.requestsPerSecond)} req/s`);
      results.push(result);
    }
    rounds.push(results);
  }
  const results = scenarios.map((_, i) => {
    const all = rounds.map((r) => r[i]);
    const byRps = [...all].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
    const mid = byRps[Math.floor(byRps.length / 2)];
    return { ...mid, p99Ms: median(all.map((r) => r.p99Ms)), p50Ms: median(all.map((r) => r.p50Ms)) };
  });
  report(results);
}

function report(results: Measured[]): void {
  const get = (name: string) => results.find((r) => r.name === name);
  const bare = get('bare');
  const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  console.log('\n| scenario | req/s | p50 ms | p99 ms | validator calls | vs bare | gateway CPU µs/req |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const calls = r.distinctTokens !== null ? `${r.validatorCalls} (${r.distinctTokens} distinct tokens)` : `${r.validatorCalls} (${r.backendRequests} passed)`;
    console.log(`| ${r.what} | ${fmt(r.requestsPerSecond)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${calls} | ${bare ? fmt(r.requestsPerSecond / bare.requestsPerSecond, 2) : '–'} | ${fmt(r.cpuMicrosPerRequest)} |`);
  }

  const targets: { text: string; value: string; met: boolean | null }[] = [];
  const ratio = (a: Measured | undefined, b: Measured | undefined, key: 'requestsPerSecond' | 'p99Ms') => (a && b ? a[key] / b[key] : Number.NaN);
  const add = (text: string, value: number, met: (v: number) => boolean) => targets.push({ text, value: fmt(value, 2), met: Number.isFinite(value) ? met(value) : null });
  const cpu = (a: Measured | undefined, b: Measured | undefined) => (a && b ? a.cpuMicrosPerRequest / b.cpuMicrosPerRequest : Number.NaN);
  // The goals of "Fast on every path" first, then the targets the earlier issues set.
  add('cache hit ≥ 0.95× the bare dispatch proxy, req/s', ratio(get('tg-hit'), get('bare-dispatch'), 'requestsPerSecond'), (v) => v >= 0.95);
  add('cache hit ≤ 1.05× the bare dispatch proxy, gateway CPU per request', cpu(get('tg-hit'), get('bare-dispatch')), (v) => v <= 1.05);
  targets.push({ text: '(for reference) cache hit with request lines off vs the bare dispatch proxy, req/s', value: fmt(ratio(get('tg-hit-quiet'), get('bare-dispatch'), 'requestsPerSecond'), 2), met: null });
  add('caching off ≥ 1.3× nginx auth_request without cache, req/s', ratio(get('tg-nocache'), get('nginx-auth'), 'requestsPerSecond'), (v) => v >= 1.3);
  add('caching off ≤ 0.8× nginx auth_request, CPU per request', cpu(get('tg-nocache'), get('nginx-auth')), (v) => v <= 0.8);
  const memory = measureMemory(2);
  targets.push({
    text: '1,000,000 cached results (2 identity headers each) ≤ 200 MB RSS',
    value: memory === null ? '–' : `${memory.rssMB} MB (${memory.bytesPerEntry} B/entry)`,
    met: memory === null ? null : memory.rssMB <= 200,
  });
  const zipf = get('tg-pool-10ms');
  targets.push({ text: '10,000 Zipf tokens, 10 ms validator: p99 ≤ 20 ms', value: zipf ? `${fmt(zipf.p99Ms, 1)} ms` : '–', met: zipf ? zipf.p99Ms <= 20 : null });
  targets.push({ text: '(the runtime\'s limit) caching off vs the bare two-hop Node proxy, req/s', value: fmt(ratio(get('tg-nocache'), get('bare-two-hop'), 'requestsPerSecond'), 2), met: null });
  targets.push({ text: '(the runtime\'s limit) the bare two-hop Node proxy vs nginx auth_request, req/s', value: fmt(ratio(get('bare-two-hop'), get('nginx-auth'), 'requestsPerSecond'), 2), met: null });
  add('cache hit ≥ 0.90× the bare request proxy', ratio(get('tg-hit'), bare, 'requestsPerSecond'), (v) => v >= 0.9);
  add('auth: none ≥ 0.95× the bare request proxy', ratio(get('tg-none'), bare, 'requestsPerSecond'), (v) => v >= 0.95);
  add('cache hit ≥ 1.4× nginx auth_request (no cache)', ratio(get('tg-hit'), get('nginx-auth'), 'requestsPerSecond'), (v) => v >= 1.4);
  add('p99 cache hit ≤ 1.2× p99 auth: none', ratio(get('tg-hit'), get('tg-none'), 'p99Ms'), (v) => v <= 1.2);
  targets.push({ text: '(for reference) forward-auth behind nginx, cache hit: tokengate decision vs the bare Node decision stub', value: fmt(ratio(get('fa-tg-hit'), get('fa-stub'), 'requestsPerSecond'), 2), met: null });
  targets.push({ text: '(for reference) forward-auth behind nginx, caching off: tokengate decision vs the bare Node decision stub', value: fmt(ratio(get('fa-tg-nocache'), get('fa-stub'), 'requestsPerSecond'), 2), met: null });
  const pool = get('tg-pool-10ms');
  if (pool) targets.push({ text: 'pool, 10 ms validator: validator calls = distinct tokens', value: `${pool.validatorCalls} / ${pool.distinctTokens}`, met: pool.validatorCalls === pool.distinctTokens });
  const off = get('tg-nocache');
  if (off) targets.push({ text: 'caching off: 1 validator call per request', value: `${off.validatorCalls} / ${off.backendRequests}`, met: off.validatorCalls === off.backendRequests });
  const four = measureMemory(4);
  targets.push({ text: '(for reference) 1,000,000 cached results with 4 identity headers each, RSS', value: four === null ? '–' : `${four.rssMB} MB (${four.bytesPerEntry} B/entry)`, met: null });
  console.log('\n| target | measured | met |');
  console.log('|---|---:|---|');
  for (const t of targets) console.log(`| ${t.text} | ${t.value} | ${t.met === null ? '–' : t.met ? 'yes' : 'NO'} |`);

  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const latest = join(dir, 'latest.json');
  // The last run on this machine, else the committed run behind the README's table.
  const before = [latest, join(dir, 'baseline.json')].find((file) => existsSync(file));
  if (before !== undefined) {
    const previous = JSON.parse(readFileSync(before, 'utf8')) as { results: Measured[] };
    console.log(`\nagainst ${before === latest ? 'the previous run' : 'the committed baseline (README)'} (req/s):`);
    for (const r of results) {
      const before = previous.results.find((p) => p.name === r.name);
      if (before) console.log(`  ${r.name.padEnd(22)} ${fmt(before.requestsPerSecond).padStart(7)} -> ${fmt(r.requestsPerSecond).padStart(7)}  (${fmt(((r.requestsPerSecond / before.requestsPerSecond) - 1) * 100, 1)} %)`);
    }
  }
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), freeGiB: Math.round(freemem() / 2 ** 30), node: process.version, load: hasWrk() ? 'wrk' : 'autocannon' };
  writeFileSync(latest, `${JSON.stringify({ when: new Date().toISOString(), machine, seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, results, targets }, null, 2)}\n`);
  console.log(`\nwritten: ${latest}`);
}

async function cleanup(): Promise<void> {
  await Promise.all(children.map((child) => child.stop()));
  rmSync(scratch, { recursive: true, force: true });
}

process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
main()
  .then(cleanup)
  .catch(async (error: unknown) => {
    console.error(error);
    await cleanup();
    process.exitCode = 1;
  });
