/**
 * `npm run bench:memory`: the RSS of 1,000,000 cached results, each from a realistic user-info body
 * (the seed's sample with a different user per token), stored exactly as the gateway stores them:
 * the validator's answer judged, identity headers rendered for the configured routes, the result
 * put in the validator's LRU under its SHA-256 key. Target: ≤ 300 MB RSS in all.
 *
 * Plain JavaScript on the compiled gateway (dist/), so that no TypeScript loader sits in the
 * process being measured:
 *
 *   npm run build && node --expose-gc bench/memory.mjs [ENTRIES] [--headers 2|4]
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
  // A byte bound out of the way: this measures what a million results cost, not the bound.
  validators: { seed: { url: 'http://127.0.0.1:1/GetUserDetails', cache: { maxEntries: entries, maxBytes: 2 ** 40 } } },
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
// Steady state: what the process holds once V8's memory reducer has run, as a long-running gateway would.
await new Promise((resolve) => setTimeout(resolve, 3000));
gc();
gc();
const after = process.memoryUsage();
const perEntry = (after.heapUsed - before.heapUsed) / entries;
if (cache.size !== entries) throw new Error(`only ${cache.size} of ${entries} results were cached`);
const pass = after.rss <= 300 * 2 ** 20;
console.log(`${entries.toLocaleString('en')} cached results, ${headerCount} identity headers each (the seed's sample user info, one user per token)`);
console.log(`  cache size:          ${cache.size.toLocaleString('en')}`);
console.log(`  heap used:           ${mb(before.heapUsed)} MB -> ${mb(after.heapUsed)} MB (${perEntry.toFixed(0)} bytes per entry)`);
console.log(`  RSS:                 ${mb(before.rss)} MB -> ${mb(after.rss)} MB (heap total ${mb(after.heapTotal)} MB, external ${mb(after.external)} MB)`);
console.log(`  target ≤ 300 MB RSS: ${pass ? 'met' : 'MISSED'}`);
if (process.argv.includes('--json')) console.log(JSON.stringify({ entries, headerCount, bytesPerEntry: Math.round(perEntry), rssMB: Math.round(after.rss / 2 ** 20) }));
