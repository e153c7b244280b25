/**
 * Memory a client can make the gateway hold through the validator's answers (SPEC sections 6 and 8):
 * the in-process cache is bounded in bytes (`cache.maxBytes`), not only in entries, and an identity
 * value over `server.maxIdentityValueBytes` is never sent (dropped and logged), whatever makes it
 * large: its own length, multi-byte UTF-8, percent-encoding, or a list joined with ",".
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent, fetch } from 'undici';
import { headerBytes, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type ReceivedRequest, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type ScriptedAnswer, type SeedEndpoint } from '../fixtures/seed-endpoint.js';

const MAX_BYTES = 65_536; // the smallest cache.maxBytes the schema accepts
const BLOB_BYTES = 4_000;
const MAX_VALUE = 4_096; // server.maxIdentityValueBytes (the default, set explicitly)

/** The user info for a token, by prefix. */
function userInfo(token: string): Record<string, unknown> | undefined {
  const uid = `u-${token.slice(-12)}`;
  if (token.startsWith('small-')) return { uid, blob: 's' };
  if (token.startsWith('big-')) return { uid, blob: 'x'.repeat(BLOB_BYTES) };
  if (token.startsWith('edge-')) return { uid, blob: 'e'.repeat(MAX_VALUE) };
  if (token.startsWith('over-')) return { uid, blob: 'o'.repeat(MAX_VALUE + 1) };
  if (token.startsWith('huge-')) return { uid, blob: 'h'.repeat(200_000) };
  // 2,500 UTF-16 units, 5,000 UTF-8 bytes: too large in bytes though not in characters.
  if (token.startsWith('wide-')) return { uid, blob: 'ö'.repeat(2_500) };
  // 1,000 "ö" = 2,000 UTF-8 bytes, but 6,000 percent-encoded bytes.
  if (token.startsWith('pct-')) return { uid, blob: 'ö'.repeat(1_000) };
  if (token.startsWith('pctok-')) return { uid, blob: 'ö'.repeat(100) };
  // 200 accounts of 30 characters: each value small, the joined list 6,199 bytes.
  if (token.startsWith('many-')) return { uid, blob: 'b', accounts: Array.from({ length: 200 }, (_, i) => ({ uid: `${i}`.padStart(30, '0') })) };
  return undefined;
}

function script(token: string): ScriptedAnswer | undefined {
  const user = userInfo(token);
  return user === undefined ? undefined : { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) };
}

const identityHeaders = { 'X-User-Id': 'uid', 'X-Blob': 'blob', 'X-Accounts': '$.accounts[*].uid' };

// No per-request AbortSignal.timeout: each would keep its request alive for its whole delay and skew the heap
// measurement; the suite's own timeout bounds a stuck gateway instead.
describe('memory held for validator answers is bounded', { timeout: 20_000 }, () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  const agent = new Agent({ connections: 16 });

  before(async () => {
    seed = await startSeedEndpoint({ script });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, maxIdentityValueBytes: MAX_VALUE, clientLimits: { validatorCallsInFlight: 32, validatorCallsPerSecond: 100_000 } },
      validators: {
        v: { url: seed.validationUrl, query: { v: 'utf8' }, cache: { ttlSeconds: 300, maxBytes: MAX_BYTES } },
        p: { url: seed.validationUrl, query: { v: 'pct' }, cache: { ttlSeconds: 300, maxBytes: MAX_BYTES } },
      },
      routes: [
        { path: '/api', upstream: backend.url, validator: 'v', identityHeaders },
        { path: '/pct', upstream: backend.url, validator: 'p', identityHeaders, identityEncoding: 'percent' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await agent.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  let serial = 0;
  const fresh = (prefix: string) => `${prefix}${process.pid}-${++serial}-${Math.random().toString(36).slice(2, 10)}`;
  const calls = (token: string) => seed.calls.get(token) ?? 0;
  const cacheOf = (name: string) => [...gw.gateway.runtime().validators.values()].find((s) => s.config.name === name)!.cache!;

  /** One allowed GET; returns what the backend received for it (and forgets it there, so memory is the gateway's). */
  async function allowed(route: string, token: string): Promise<ReceivedRequest> {
    const path = `${route}/r${++serial}`;
    const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` }, dispatcher: agent });
    await res.text();
    assert.equal(res.status, 200, `${token.split('-')[0]} is valid`);
    const at = backend.received.findIndex((r) => r.url === path);
    assert.ok(at >= 0, 'the call reached the backend');
    const [got] = backend.received.splice(at, 1);
    return got;
  }

  const droppedLines = (header: string) => gw.logs.lines().filter((line) => line.msg === 'identity header dropped' && line.header === header);

  test(`3,000 valid tokens with a ${BLOB_BYTES}-byte identity value: the cache keeps at most maxBytes / entry size of them, evicting the oldest`, async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    /** Sends `tokens` 8 at a time, in order; every one gets its whole value sent. */
    const sendAll = async (tokens: readonly string[]) => {
      for (let i = 0; i < tokens.length; i += 8) {
        const batch = await Promise.all(tokens.slice(i, i + 8).map((token) => allowed('/api', token)));
        for (const got of batch) assert.equal(headerBytes(got.rawHeaders, 'x-blob')[0]?.length, BLOB_BYTES, 'the value is sent whole');
      }
    };
    // Warm up (code paths compiled, pools filled), then measure what 3,000 more results leave behind (not linear: about 3 MiB of it is warm-up that 4,000 results do not double).
    await sendAll(Array.from({ length: 400 }, () => fresh('big-')));
    gw.logs.chunks.length = 0; // the captured log lines are the test's memory, not the gateway's
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const tokens = Array.from({ length: 3_000 }, () => fresh('big-'));
    await sendAll(tokens);
    const cache = cacheOf('v');
    // Each entry holds at least the rendered value, its 32-byte key and the LRU's bookkeeping.
    const bound = Math.floor(MAX_BYTES / (BLOB_BYTES + 32 + 100));
    assert.ok(cache.size >= 1 && cache.size <= bound, `${cache.size} entries cached, at most ${bound} fit in ${MAX_BYTES} bytes`);

    gw.logs.chunks.length = 0;
    gc();
    const grown = process.memoryUsage().heapUsed - heapBefore;
    // Unbounded, 3,000 results would hold 12 MB of values alone; a generous bound that only a leak crosses.
    assert.ok(grown < 6 * 1024 * 1024, `heap grew by ${(grown / 1024).toFixed(0)} KiB`);

    // The newest are still cached (no call); the oldest were evicted (asked again).
    const newest = tokens.at(-1)!;
    await allowed('/api', newest);
    assert.equal(calls(newest), 1, 'the newest token is a cache hit');
    const oldest = tokens[0];
    await allowed('/api', oldest);
    assert.equal(calls(oldest), 2, 'the oldest token was evicted and is validated again');
  });

  test('control: small results are bounded by the same bytes, so many more of them fit', async () => {
    const tokens = Array.from({ length: 400 }, () => fresh('small-'));
    for (let i = 0; i < tokens.length; i += 8) await Promise.all(tokens.slice(i, i + 8).map((token) => allowed('/pct', token)));
    const size = cacheOf('p').size;
    assert.ok(size > 100, `${size} small entries fit where about 20 large ones do`);
    assert.ok(size <= Math.floor(MAX_BYTES / (32 + 100)), `${size} entries`);
  });

  test('a value of exactly maxIdentityValueBytes is sent; one byte more is dropped and logged, the other headers still sent', async () => {
    const edge = await allowed('/api', fresh('edge-'));
    assert.equal(headerBytes(edge.rawHeaders, 'x-blob')[0]?.length, MAX_VALUE);

    const token = fresh('over-');
    const over = await allowed('/api', token);
    assert.deepEqual(headerBytes(over.rawHeaders, 'x-blob'), [], 'not sent');
    assert.deepEqual(headerBytes(over.rawHeaders, 'x-user-id'), [Buffer.from(`u-${token.slice(-12)}`)], 'the other identity header is sent');
    const lines = droppedLines('X-Blob');
    assert.ok(lines.length >= 1, 'logged');
    assert.equal(lines.at(-1)!.reason, 'too_large');
    assert.match(String(lines.at(-1)!.fp), /^[0-9a-f]{8}$/, 'with the token fingerprint');
  });

  for (const [label, prefix, route, header] of [
    ['200,000 ASCII bytes', 'huge-', '/api', 'x-blob'],
    ['2,500 "ö": 2,500 characters but 5,000 UTF-8 bytes', 'wide-', '/api', 'x-blob'],
    ['1,000 "ö" percent-encoded: 2,000 UTF-8 bytes but 6,000 sent', 'pct-', '/pct', 'x-blob'],
    ['a list of 200 small values joined with ",": 6,199 bytes', 'many-', '/api', 'x-accounts'],
  ] as const) {
    test(`${label}: dropped (not sent, logged "too_large"); X-User-Id still sent`, async () => {
      const before = droppedLines(header === 'x-blob' ? 'X-Blob' : 'X-Accounts').length;
      const token = fresh(prefix);
      const got = await allowed(route, token);
      assert.deepEqual(headerBytes(got.rawHeaders, header), [], `${header} is not sent`);
      assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from(`u-${token.slice(-12)}`)]);
      const lines = droppedLines(header === 'x-blob' ? 'X-Blob' : 'X-Accounts');
      assert.equal(lines.length, before + 1, 'one warning');
      assert.equal(lines.at(-1)!.reason, 'too_large');
      assert.ok(JSON.stringify(lines.at(-1)).length < 400, 'the warning does not carry the value');
    });
  }

  test('control: a value that fits after encoding is sent (100 "ö" = 600 percent-encoded bytes)', async () => {
    const got = await allowed('/pct', fresh('pctok-'));
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-blob'), [Buffer.from('%C3%B6'.repeat(100))]);
  });

  test('no dropped value was ever sent in part, and no warning was logged for a value that fits', () => {
    const reasons = gw.logs.lines().filter((line) => line.msg === 'identity header dropped').map((line) => line.reason);
    assert.ok(reasons.length >= 5);
    for (const reason of reasons) assert.equal(reason, 'too_large');
  });
});
