/**
 * SPEC section 6: "the raw token is never stored or logged (logs carry an 8-hex-digit
 * fingerprint)". Every path a token can take through the gateway (allowed, rejected, validator
 * broken / slow / gone, malformed, query, form, scope, missing identity path, backend down) is
 * driven with the most verbose log level, and the captured log text is searched for the token, its
 * URL-encoded form and a distinctive inner part of it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { errorOf, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { assertExcludes, closedPort, hostOf } from './support.js';

/**
 * Tokens start with 8 hex digits (so that a "fingerprint" made of the token's first characters
 * would be caught), carry "+", "/" and "=" (so that their query-string form differs from the raw
 * one) and a unique inner secret.
 */
function makeToken(secret: string): string {
  return `8dbd30ed-${secret}+x/Y-2e19=`;
}

const T = {
  valid: makeToken('VaLiDsEcReT01'),
  invalid: makeToken('InVaLiDsEcReT02'),
  err500: makeToken('ErR500sEcReT03'),
  slow: makeToken('SlOwSeCrEt04'),
  dead: makeToken('DeAdSeCrEt05'),
  query: makeToken('QuErYsEcReT06'),
  form: makeToken('FoRmSeCrEt07'),
  scope: makeToken('ScOpEsEcReT08'),
  noUid: makeToken('NoUiDsEcReT09'),
  down: makeToken('DoWnSeCrEt10'),
  queryNotAllowed: makeToken('QnAsEcReT11'),
  several: makeToken('SeVeRaLsEcReT12'),
  badPath: makeToken('BaDpAtHsEcReT13'),
  noRoute: makeToken('NoRoUtEsEcReT14'),
};
const MALFORMED_SECRET = 'MaLfOrMeDsEcReT15';

function needles(token: string): string[] {
  const inner = /^8dbd30ed-([A-Za-z0-9]+)\+/.exec(token)![1];
  return [token, encodeURIComponent(token), token.replace(/\+/g, ' '), inner];
}
const ALL_NEEDLES = [...Object.values(T).flatMap(needles), MALFORMED_SECRET];

describe('the raw token never reaches the logs', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  let previousLevel: string | undefined;

  before(async () => {
    previousLevel = process.env.TOKENGATE_LOG_LEVEL;
    process.env.TOKENGATE_LOG_LEVEL = 'trace';
    const scoped = { ...SEED_USER_INFO, scope: 'orders:read' };
    const { uid: _uid, ...withoutUid } = SEED_USER_INFO;
    seed = await startSeedEndpoint({
      users: new Map<string, unknown>([
        [T.valid, scoped],
        [T.query, scoped],
        [T.form, scoped],
        [T.scope, scoped],
        [T.noUid, withoutUid],
        [T.down, scoped],
      ]),
      script: (token) => {
        if (token === T.err500) return { status: 500, headers: { 'content-type': 'text/plain' }, body: `internal error while checking ${token}` };
        if (token === T.slow) return { delayMs: 600, status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(scoped) };
        return undefined;
      },
    });
    backend = await startSampleBackend();
    const deadPort = await closedPort();
    const downPort = await closedPort();
    gw = await startTestGateway({
      validators: {
        main: { url: seed.validationUrl, timeoutMs: 200 },
        dead: { url: `http://127.0.0.1:${deadPort}/introspect`, timeoutMs: 200 },
      },
      routes: [
        { path: '/orders', upstream: backend.url, validator: 'main', identityHeaders: { 'X-User-Id': 'uid', 'X-User-Email': 'email' } },
        { path: '/dead', upstream: backend.url, validator: 'dead' },
        { path: '/q', upstream: backend.url, validator: 'main', tokenFrom: ['query'] },
        { path: '/form', upstream: backend.url, validator: 'main', tokenFrom: ['form'] },
        { path: '/scoped', upstream: backend.url, validator: 'main', requiredScopes: ['orders:write'] },
        { path: '/down', upstream: `http://127.0.0.1:${downPort}`, validator: 'main' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
    if (previousLevel === undefined) delete process.env.TOKENGATE_LOG_LEVEL;
    else process.env.TOKENGATE_LOG_LEVEL = previousLevel;
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /** The access line for the last request on `path` (there must be one). */
  function lastAccessLine(path: string): Record<string, unknown> {
    const line = gw.logs.requests().filter((l) => l.path === path).at(-1);
    assert.ok(line !== undefined, `an access line for ${path}`);
    return line;
  }

  function assertFingerprint(line: Record<string, unknown>, token: string): void {
    assert.match(String(line.fp), /^[0-9a-f]{8}$/, 'the access line carries an 8-hex fingerprint');
    assert.notEqual(line.fp, token.slice(0, 8), 'the fingerprint is not the start of the token');
  }

  test('valid token, allowed: fingerprint logged, token not', async () => {
    const res = await fetch(`${gw.url}/orders/1`, { headers: bearer(T.valid) });
    assert.equal(res.status, 200);
    await res.text();
    const line = lastAccessLine('/orders/1');
    assert.equal(line.outcome, 'allow');
    assertFingerprint(line, T.valid);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('the same token always has the same fingerprint, another token another one', async () => {
    const again = await fetch(`${gw.url}/orders/2`, { headers: bearer(T.valid) });
    assert.equal(again.status, 200);
    await again.text();
    const first = lastAccessLine('/orders/1').fp;
    assert.equal(lastAccessLine('/orders/2').fp, first);
    const other = await fetch(`${gw.url}/orders/3`, { headers: bearer(T.invalid) });
    await other.text();
    assert.notEqual(lastAccessLine('/orders/3').fp, first);
  });

  test('invalid token (the seed 401 body echoes it)', async () => {
    const res = await fetch(`${gw.url}/orders/4`, { headers: bearer(T.invalid) });
    assert.equal(res.status, 401);
    await res.text();
    const line = lastAccessLine('/orders/4');
    assert.equal(line.status, 401);
    assertFingerprint(line, T.invalid);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('validator answers 500 (its body names the token)', async () => {
    const res = await fetch(`${gw.url}/orders/5`, { headers: bearer(T.err500) });
    assert.equal(res.status, 503);
    await res.text();
    assertFingerprint(lastAccessLine('/orders/5'), T.err500);
    assert.equal(seed.calls.get(T.err500), 1);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('validator times out', async () => {
    const res = await fetch(`${gw.url}/orders/6`, { headers: bearer(T.slow) });
    assert.equal(res.status, 503);
    await res.text();
    assertFingerprint(lastAccessLine('/orders/6'), T.slow);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('validator unreachable (closed port)', async () => {
    const res = await fetch(`${gw.url}/dead`, { headers: bearer(T.dead) });
    assert.equal(res.status, 503);
    await res.text();
    assertFingerprint(lastAccessLine('/dead'), T.dead);
    assert.ok(gw.logs.lines().some((l) => l.msg === 'validator unavailable'), 'the failure itself is logged');
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('malformed Authorization header', async () => {
    const res = await rawRequest(gw.url, `GET /orders/7 HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\nauthorization: Bearer ${MALFORMED_SECRET}!!`);
    assert.equal(res.status, 400);
    assert.equal(errorOf(res.body).type, 'InvalidRequestError');
    assert.equal(lastAccessLine('/orders/7').status, 400);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('token in the query (tokenFrom: [query]): neither the token nor the query string is logged', async () => {
    const res = await fetch(`${gw.url}/q/items?a=1&access_token=${encodeURIComponent(T.query)}&b=2`);
    assert.equal(res.status, 200);
    const echoed = (await res.json()) as { url: string };
    assert.equal(echoed.url, '/q/items?a=1&b=2', 'the backend got the query without the token');
    const line = lastAccessLine('/q/items');
    assert.equal(line.outcome, 'allow');
    assertFingerprint(line, T.query);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('token in the query where the route does not accept it (400)', async () => {
    const res = await fetch(`${gw.url}/orders/8?access_token=${encodeURIComponent(T.queryNotAllowed)}`);
    assert.equal(res.status, 400);
    await res.text();
    assert.equal(lastAccessLine('/orders/8').status, 400);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('token in several places (400)', async () => {
    const res = await fetch(`${gw.url}/q/x?access_token=${encodeURIComponent(T.several)}`, { headers: bearer(T.several) });
    assert.equal(res.status, 400);
    await res.text();
    assert.equal(lastAccessLine('/q/x').status, 400);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('token in a form body (tokenFrom: [form])', async () => {
    const res = await fetch(`${gw.url}/form/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `x=1&access_token=${encodeURIComponent(T.form)}`,
    });
    assert.equal(res.status, 200);
    await res.text();
    const line = lastAccessLine('/form/submit');
    assert.equal(line.outcome, 'allow');
    assertFingerprint(line, T.form);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('insufficient scope (403)', async () => {
    const res = await fetch(`${gw.url}/scoped`, { headers: bearer(T.scope) });
    assert.equal(res.status, 403);
    await res.text();
    assertFingerprint(lastAccessLine('/scoped'), T.scope);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('identity path missing in the answer', async () => {
    const res = await fetch(`${gw.url}/orders/9`, { headers: bearer(T.noUid) });
    assert.equal(res.status, 200);
    await res.text();
    assertFingerprint(lastAccessLine('/orders/9'), T.noUid);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('backend down (502)', async () => {
    const res = await fetch(`${gw.url}/down/z`, { headers: bearer(T.down) });
    assert.equal(res.status, 502);
    await res.text();
    const line = lastAccessLine('/down/z');
    assert.equal(line.status, 502);
    assertFingerprint(line, T.down);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('path not in normal form, and no route: the logged path carries no query', async () => {
    const bad = await rawRequest(gw.url, `GET /orders/../q?access_token=${encodeURIComponent(T.badPath)} HTTP/1.1\r\nhost: ${hostOf(gw.url)}`);
    assert.equal(bad.status, 400);
    const none = await fetch(`${gw.url}/nowhere?access_token=${encodeURIComponent(T.noRoute)}`);
    assert.equal(none.status, 404);
    await none.text();
    assert.equal(lastAccessLine('/orders/../q').status, 400);
    assert.equal(lastAccessLine('/nowhere').status, 404);
    assertExcludes(gw.logs.text(), ALL_NEEDLES, 'log');
  });

  test('every access line: a path without query string, fp null or 8 hex digits; whole log free of tokens', () => {
    const lines = gw.logs.requests();
    assert.ok(lines.length >= 15, `expected an access line per request, got ${lines.length}`);
    for (const line of lines) {
      assert.equal(typeof line.path, 'string');
      assert.equal(String(line.path).includes('?'), false, `path ${String(line.path)} has no query`);
      assert.ok(line.fp === null || /^[0-9a-f]{8}$/.test(String(line.fp)), `fp ${String(line.fp)}`);
    }
    assertExcludes(gw.logs.text(), [...ALL_NEEDLES, 'access_token', 'Bearer '], 'log');
  });
});
