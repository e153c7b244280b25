/**
 * `npm run bench:memory`: the RSS of 1,000,000 cached results, each from a realistic user-info body
 * (the seed's sample with a different user per token), stored exactly as the gateway stores them:
 * the validator's answer judged, identity headers rendered for the configured routes, the result
 * put in the validator's LRU under its SHA-256 key. Target: ≤ 200 MB RSS in all (issue 12), with two
 * identity headers. Bytes per entry: what the heap grew by plus what the cache holds off the heap
 * (its segments and hash table, `heldBytes`), over the entries.
 *
 * Plain JavaScript on the compiled gateway (dist/), so that no TypeScript loader sits in the
 * process being measured:
 *
 *   npm run build && node --expose-gc bench/memory.mjs [ENTRIES] [--headers 2|4] [--json] [--hits]
 *
 * `--hits`: afterwards (the memory is measured first), the cost of a cache hit, `get` on random
 * keys of the million and on a hot set of 1,000, the key computed beforehand.
 */
import { buildConfig } from '../dist/config/load.js';
import { tokenKey } from '../dist/cache/key.js';
import { ResultCache } from '../dist/cache/memory.js';
import { clockNow } from '../dist/cache/token-result.js';
import { toVerdict } from '../dist/pipeline/validate.js';
import { judgeAnswer } from '../dist/validators/judge.js';

/** The seed's sample 200 body (seed/000_ca09daffd2667acd.txt); the test fixtures hold the same. */
const SEED_USER_INFO = {
  type: 'userWsDTO',
  uid: 'abcd23456',
  accontManagerEmail: 'ajdoe@marketplace.se',
  accontManagerName: 'John Doe',
  accontManagerPhone: ['034534534'],
  accounts: [
    { name: 'Adam Phils', uid: '100004567' },
    { name: 'Duffy woöf', uid: '100004444' },
  ],
  active: true,
  email: 'jason.borne@marketplace.se',
  firstName: 'Jason',
  lastLoginDate: '2020-04-16T05:14:17-0400',
  lastName: 'öhlundi',
};

const entries = Number(process.argv[2] ?? 1_000_000);
const headerCount = process.argv.includes('--headers') ? Number(process.argv[process.argv.indexOf('--headers') + 1]) : 4;
const IDENTITY = { 'X-User-Id': 'uid', 'X-User-Email': '$.email', 'X-User-Last-Name': 'lastName', 'X-Account-Ids': '$.accounts[*].uid' };
const identityHeaders = Object.fromEntries(Object.entries(IDENTITY).slice(0, headerCount));

const config = buildConfig({
  // A byte bound out of the way: this measures what a million results cost, not the bound (and a ttl
  // that keeps them fresh for --hits).
  validators: { seed: { url: 'http://127.0.0.1:1/GetUserDetails', cache: { ttlSeconds: 3600, maxEntries: entries, maxBytes: 2 ** 40 } } },
  routes: [{ path: '/orders', upstream: 'http://127.0.0.1:2', identityHeaders }],
});
const validator = config.validators.get('seed');

const gc = globalThis.gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
gc();
const before = process.memoryUsage();

const cache = new ResultCache(entries, validator.cache.maxBytes);
const now = Date.now();
for (let i = 0; i < entries; i++) {
  // A distinct user per token, as a validator would answer it.
  const body = Buffer.from(
    JSON.stringify({
      ...SEED_USER_INFO,
      uid: `u${100000000 + i}`,
      email: `user${i}@marketplace.se`,
      lastName: i % 2 === 0 ? 'öhlundi' : `Lastname${i % 1000}`,
      accounts: [{ name: 'Adam Phils', uid: String(100000000 + i) }, { name: 'Duffy woöf', uid: String(200000000 + i) }],
      exp: Math.floor(now / 1000) + 3600,
    }),
  );
  const judgement = judgeAnswer({ status: 200, mediaType: 'application/json', body }, validator, now / 1000);
  cache.set(tokenKey('seed', `token-${i}-${'x'.repeat(24)}`), toVerdict(judgement, validator, now, () => undefined), clockNow());
}
gc();
// Steady state: what the process holds once V8's memory reducer has run, as a long-running gateway
// would. The reducer's first pass comes 8 s after allocation slows (its long delay); it gives back
// the young generation that the fill grew (heap total 51 MB -> 21 MB), which a full gc() does not.
await new Promise((resolve) => setTimeout(resolve, 10_000));
gc();
gc();
const after = process.memoryUsage();
const offHeap = cache.heldBytes ?? 0;
const perEntry = (after.heapUsed - before.heapUsed + offHeap) / entries;
if (cache.size !== entries) throw new Error(`only ${cache.size} of ${entries} results were cached`);
const pass = after.rss <= 200 * 2 ** 20;
console.log(`${entries.toLocaleString('en')} cached results, ${headerCount} identity headers each (the seed's sample user info, one user per token)`);
console.log(`  cache size:          ${cache.size.toLocaleString('en')}`);
console.log(`  heap used:           ${mb(before.heapUsed)} MB -> ${mb(after.heapUsed)} MB, ${mb(offHeap)} MB off the heap (${perEntry.toFixed(0)} bytes per entry)`);
console.log(`  RSS:                 ${mb(before.rss)} MB -> ${mb(after.rss)} MB (heap total ${mb(after.heapTotal)} MB, external ${mb(after.external)} MB)`);
console.log(`  target ≤ 200 MB RSS: ${pass ? 'met' : 'MISSED'}`);

let hit;
if (process.argv.includes('--hits')) {
  const sample = 1 << 20;
  const keys = Array.from({ length: sample }, (_, i) => tokenKey('seed', `token-${Math.floor((i * 2654435761) % entries)}-${'x'.repeat(24)}`));
  const hot = keys.slice(0, 1000);
  const at = clockNow();
  /** The best of five rounds of `sample` gets, in ns per get. */
  const time = (pick) => {
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      let found = 0;
      const start = process.hrtime.bigint();
      for (let i = 0; i < sample; i++) if (cache.get(pick(i), at) !== undefined) found++;
      best = Math.min(best, Number(process.hrtime.bigint() - start) / sample);
      if (found !== sample) throw new Error(`${sample - found} misses`);
    }
    return best;
  };
  hit = { randomNs: time((i) => keys[i]), hotNs: time((i) => hot[i % 1000]) };
  console.log(`  cache hit:           ${hit.randomNs.toFixed(0)} ns per get on random keys, ${hit.hotNs.toFixed(0)} ns on a hot set of 1,000`);
}
if (process.argv.includes('--json')) console.log(JSON.stringify({ entries, headerCount, bytesPerEntry: Math.round(perEntry), rssMB: Math.round(after.rss / 2 ** 20), ...(hit === undefined ? {} : { hitNs: { random: Math.round(hit.randomNs), hot: Math.round(hit.hotNs) } }) }));
