/**
 * The admin port (SPEC section 3 `admin`, section 6 `POST /revoke`): liveness, readiness,
 * Prometheus metrics with exact counts that survive a reload, revocation, and its defaults
 * (127.0.0.1, and no admin server at all without the key).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startTestGateway, type TestGateway } from '../fixtures/gateway.js';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Prometheus text format, samples only. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    assert.ok(match !== null, `a well-formed sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of match[2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? []) labels[key] = value!;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with exactly these labels, or undefined. */
function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(found.length <= 1, `at most one ${name} sample with ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

describe('admin port', () => {
  let validator: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  let admin: string;
  const users = new Map<string, unknown>([
    ['alice', { uid: 'a' }],
    ['crowd', { uid: 'c' }],
    ['rose', { uid: 'r' }],
  ]);
  const document = () => ({
    admin: { host: '127.0.0.1', port: 0 },
    validators: {
      seed: { url: validator.validationUrl },
      burst: { url: validator.validationUrl },
      rev: { url: validator.validationUrl },
    },
    routes: [
      { path: '/orders', upstream: backend.url, validator: 'seed' },
      { path: '/burst', upstream: backend.url, validator: 'burst' },
      { path: '/rev', upstream: backend.url, validator: 'rev' },
    ],
  });

  before(async () => {
    validator = await startSeedEndpoint({ users, latencyMs: 50 });
    backend = await startSampleBackend();
    gw = await startTestGateway(document());
    assert.ok(gw.gateway.adminUrl !== null);
    admin = gw.gateway.adminUrl;
  });
  after(async () => {
    await gw.close();
    await Promise.all([validator.close(), backend.close()]);
  });

  const get = (path: string, token?: string) =>
    fetch(`${gw.url}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }).then(async (res) => {
      await res.arrayBuffer();
      return res.status;
    });

  async function scrape(): Promise<{ res: Response; text: string; samples: Sample[] }> {
    const res = await fetch(`${admin}/metrics`);
    const text = await res.text();
    return { res, text, samples: parseMetrics(text) };
  }

  test('the admin server is a separate listener from the proxy', () => {
    assert.notEqual(new URL(admin).port, new URL(gw.url).port);
    assert.equal(new URL(admin).hostname, '127.0.0.1');
  });

  test('GET /healthz: 200 {"status":"ok"}', async () => {
    const res = await fetch(`${admin}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  test('GET /readyz: 200, configuration and listening checks, no redis check without redis', async () => {
    const res = await fetch(`${admin}/readyz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; checks: Record<string, boolean> };
    assert.deepEqual(body.checks, { configuration: true, listening: true });
    assert.equal(body.status, 'ready');
  });

  test('GET /metrics: Prometheus text with exact request, denial, cache and validator counts', async () => {
    for (let i = 0; i < 3; i++) assert.equal(await get('/orders', 'alice'), 200);
    assert.equal(await get('/orders'), 401); // missing token
    assert.equal(await get('/nowhere', 'alice'), 404);

    const { res, text, samples } = await scrape();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(text, /^# TYPE tokengate_requests_total counter$/m);

    assert.equal(valueOf(samples, 'tokengate_requests_total', { face: 'proxy', route: '/orders', outcome: 'allow' }), 3);
    assert.equal(valueOf(samples, 'tokengate_requests_total', { face: 'proxy', route: '/orders', outcome: 'deny' }), 1);
    assert.equal(valueOf(samples, 'tokengate_requests_total', { face: 'proxy', route: '(none)', outcome: 'deny' }), 1);
    assert.equal(valueOf(samples, 'tokengate_denials_total', { reason: 'missing_token' }), 1);
    assert.equal(valueOf(samples, 'tokengate_denials_total', { reason: 'no_route' }), 1);
    assert.equal(valueOf(samples, 'tokengate_cache_lookups_total', { level: 'memory', result: 'hit' }), 2);
    assert.equal(valueOf(samples, 'tokengate_cache_lookups_total', { level: 'memory', result: 'miss' }), 1);
    assert.equal(valueOf(samples, 'tokengate_validator_calls_total', { validator: 'seed', status_class: '2xx' }), 1);
    assert.equal(validator.calls.get('alice'), 1);

    // The call's latency: one observation, above the fixture's 50 ms delay.
    const buckets = samples.filter((s) => s.name === 'tokengate_validator_duration_seconds_bucket' && s.labels.validator === 'seed' && s.labels.status_class === '2xx');
    assert.ok(buckets.length >= 2);
    assert.equal(buckets.find((s) => s.labels.le === '+Inf')?.value, 1);
    assert.equal(buckets.find((s) => s.labels.le === '0.025')?.value, 0);
    assert.equal(valueOf(samples, 'tokengate_validator_duration_seconds_count', { validator: 'seed', status_class: '2xx' }), 1);

    // Default process metrics, with the tokengate_ prefix (and only with it).
    assert.ok(samples.some((s) => s.name === 'tokengate_process_cpu_user_seconds_total'));
    assert.ok(samples.some((s) => s.name.startsWith('tokengate_nodejs_')));
    assert.deepEqual(samples.filter((s) => !s.name.startsWith('tokengate_')).map((s) => s.name), []);
  });

  test('20 concurrent requests with one new token: one validator call, the others join it', async () => {
    const statuses = await Promise.all(Array.from({ length: 20 }, () => get('/burst', 'crowd')));
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(validator.calls.get('crowd'), 1);
    const { samples } = await scrape();
    const joins = valueOf(samples, 'tokengate_singleflight_joins_total');
    assert.ok(joins !== undefined && joins > 0, `joins: ${joins}`);
    assert.ok(joins <= 19);
    assert.equal(valueOf(samples, 'tokengate_validator_calls_total', { validator: 'burst', status_class: '2xx' }), 1);
    assert.equal(valueOf(samples, 'tokengate_requests_total', { face: 'proxy', route: '/burst', outcome: 'allow' }), 20);
  });

  test('counters survive a reload: they keep growing, they are not reset', async () => {
    const before = await scrape();
    const allowBefore = valueOf(before.samples, 'tokengate_requests_total', { face: 'proxy', route: '/orders', outcome: 'allow' })!;
    const callsBefore = valueOf(before.samples, 'tokengate_validator_calls_total', { validator: 'seed', status_class: '2xx' })!;
    const hitsBefore = valueOf(before.samples, 'tokengate_cache_lookups_total', { level: 'memory', result: 'hit' })!;
    assert.equal(allowBefore, 3);
    const previousRuntime = gw.gateway.runtime();

    await gw.gateway.reload(buildConfig({ server: { host: '127.0.0.1', port: 0 }, ...document() }, {}));
    assert.notEqual(gw.gateway.runtime(), previousRuntime, 'a new runtime serves now');

    // The same configuration keeps its cached results (the same result digest): two hits, no call.
    assert.equal(await get('/orders', 'alice'), 200);
    assert.equal(await get('/orders', 'alice'), 200);
    assert.equal(validator.calls.get('alice'), 1);

    const { samples } = await scrape();
    assert.equal(valueOf(samples, 'tokengate_requests_total', { face: 'proxy', route: '/orders', outcome: 'allow' }), allowBefore + 2);
    assert.equal(valueOf(samples, 'tokengate_validator_calls_total', { validator: 'seed', status_class: '2xx' }), callsBefore);
    assert.equal(valueOf(samples, 'tokengate_cache_lookups_total', { level: 'memory', result: 'hit' }), hitsBefore + 2);
    assert.equal(valueOf(samples, 'tokengate_denials_total', { reason: 'missing_token' }), 1);
    // The admin server is the same one, still answering.
    assert.equal((await fetch(`${admin}/healthz`)).status, 200);
  });

  test('POST /revoke {"token"}: 200 with how many cached results were forgotten, and the next request asks the validator again', async () => {
    assert.equal(await get('/rev', 'rose'), 200);
    assert.equal(await get('/rev', 'rose'), 200);
    assert.equal(validator.calls.get('rose'), 1, 'cached before the revocation');

    const res = await fetch(`${admin}/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'rose' }) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(body, { forgotten: 1, validators: 3, everywhere: false });
    assert.ok(!JSON.stringify(body).includes('rose'), 'the answer does not repeat the token');

    const unseen = await fetch(`${admin}/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'never-seen-token' }) });
    assert.deepEqual(await unseen.json(), { forgotten: 0, validators: 3, everywhere: false }, 'a token never seen is not claimed revoked');

    assert.equal(await get('/rev', 'rose'), 200);
    assert.equal(validator.calls.get('rose'), 2);
    // Another token of the same validator is untouched.
    assert.equal(await get('/rev', 'crowd'), 200);
    assert.equal(await get('/rev', 'crowd'), 200);
    assert.equal(validator.calls.get('crowd'), 2, 'crowd: one call for /burst, one for /rev');
  });

  test('/revoke with a body that is not {"token": "…"}: 400', async () => {
    for (const body of ['{not json', '{}', '{"token": 7}', '{"token": ""}', '"rose"']) {
      const res = await fetch(`${admin}/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(res.status, 400, body);
      await res.arrayBuffer();
    }
  });

  test('GET /revoke: 405 with Allow: POST', async () => {
    const res = await fetch(`${admin}/revoke`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    await res.arrayBuffer();
  });

  test('an unknown admin path: 404', async () => {
    const res = await fetch(`${admin}/nope`);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });
});

describe('admin defaults', () => {
  const base = (upstream: string) => ({
    validators: { seed: { url: 'http://127.0.0.1:9/GetUserDetails' } },
    routes: [{ path: '/', upstream }],
  });

  test('the admin host defaults to 127.0.0.1 (it has no authentication of its own)', async () => {
    const config = buildConfig({ admin: { port: 0 }, ...base('http://127.0.0.1:9') }, {});
    assert.equal(config.admin?.host, '127.0.0.1');
    assert.equal(config.admin?.port, 0);
    // And that is where it really listens.
    const gw = await startTestGateway({ admin: { port: 0 }, ...base('http://127.0.0.1:9') });
    try {
      assert.ok(gw.gateway.adminUrl !== null);
      assert.equal(new URL(gw.gateway.adminUrl).hostname, '127.0.0.1');
      assert.equal((await fetch(`${gw.gateway.adminUrl}/healthz`)).status, 200);
    } finally {
      await gw.close();
    }
  });

  test('without the admin key there is no admin server', async () => {
    assert.equal(buildConfig(base('http://127.0.0.1:9'), {}).admin, null);
    const gw = await startTestGateway(base('http://127.0.0.1:9'));
    try {
      assert.equal(gw.gateway.adminUrl, null);
    } finally {
      await gw.close();
    }
  });
});
