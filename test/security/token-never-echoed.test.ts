/**
 * SPEC section 4: every error from the gateway is the seed's JSON shape and "the message never
 * contains the token". The seed's own 401 body repeats the token ("Invalid access token: <t>"):
 * it must never reach the client, nor any header the validator set.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SEED_USER_INFO, startSeedEndpoint, type ScriptedAnswer, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { errorOf, rawRequest, startTestGateway, type RawResponse, type TestGateway } from '../fixtures/gateway.js';
import { assertExcludes, assertGatewayError, closedPort, headerLines, hostOf, rawHeaderLines } from './support.js';

function makeToken(secret: string): string {
  return `8dbd30ed-${secret}+x/Y=`;
}
function needles(token: string): string[] {
  const inner = /^8dbd30ed-([A-Za-z0-9]+)\+/.exec(token)?.[1];
  return inner === undefined ? [token] : [token, encodeURIComponent(token), inner];
}

const T = {
  valid: makeToken('VaLiDeChO01'),
  invalid: makeToken('InVaLiDeChO02'),
  invalidWithHeaders: makeToken('HeAdErEcHo03'),
  inactive: makeToken('InAcTiVeEcHo04'),
  scope: makeToken('ScOpEeChO05'),
  unavailable: makeToken('UnAvAiLeChO06'),
  deny401: makeToken('DeNy401eChO07'),
  malformed: 'MaLfOrMeDeChO08',
  several: makeToken('SeVeRaLeChO09'),
  notAllowed: makeToken('NoTaLlOwEdEcHo10'),
  duplicate: makeToken('DuPlIcAtEeChO11'),
  down: makeToken('DoWnEcHo12'),
  throttled: makeToken('ThRoTtLeDeChO13'),
  deny401Rejected: makeToken('DeNy401ReJeCt14'),
};

describe('the token is never echoed to the client', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    seed = await startSeedEndpoint({
      users: new Map<string, unknown>([
        [T.valid, SEED_USER_INFO],
        [T.scope, { ...SEED_USER_INFO, scope: 'orders:read' }],
        [T.down, SEED_USER_INFO],
      ]),
      script: (token): ScriptedAnswer | undefined => {
        const echo = `Invalid access token: ${token}`;
        if (token === T.invalidWithHeaders) {
          return {
            status: 401,
            headers: { 'content-type': 'application/json', 'www-authenticate': `Bearer error="invalid_token", error_description="${token}"`, 'x-token-echo': token },
            body: JSON.stringify({ errors: [{ type: 'InvalidTokenError', message: echo }] }),
          };
        }
        if (token === T.inactive) return { status: 200, headers: { 'content-type': 'application/json', 'x-token-echo': token }, body: JSON.stringify({ active: false, note: echo }) };
        if (token === T.unavailable) return { status: 503, headers: { 'content-type': 'text/plain', 'retry-after': '1', 'x-token-echo': token }, body: echo };
        if (token === T.throttled) return { status: 429, headers: { 'content-type': 'text/plain', 'x-token-echo': token }, body: echo };
        return undefined;
      },
    });
    backend = await startSampleBackend();
    const deadPort = await closedPort();
    const downPort = await closedPort();
    gw = await startTestGateway({
      validators: {
        main: { url: seed.validationUrl, timeoutMs: 200 },
        lenient: { url: `http://127.0.0.1:${deadPort}/check`, timeoutMs: 200, onUnavailable: 'deny-401' },
        lenientLive: { url: seed.validationUrl, timeoutMs: 200, onUnavailable: 'deny-401' },
      },
      routes: [
        { path: '/orders', upstream: backend.url, validator: 'main' },
        { path: '/scoped', upstream: backend.url, validator: 'main', requiredScopes: ['orders:write', 'orders:read'] },
        { path: '/q', upstream: backend.url, validator: 'main', tokenFrom: ['query', 'header'] },
        { path: '/d401', upstream: backend.url, validator: 'lenient' },
        { path: '/d401live', upstream: backend.url, validator: 'lenientLive' },
        { path: '/down', upstream: `http://127.0.0.1:${downPort}`, validator: 'main' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  /** Body and every header of the answer are free of `token`; the seed's message is not relayed. */
  function assertClean(body: string, headers: string[], token: string): void {
    assertExcludes(body, [...needles(token), 'Invalid access token'], 'response body');
    assertExcludes(headers.join('\n'), [...needles(token), 'x-token-echo'], 'response headers');
  }
  async function check(res: Response, status: number, type: string, token: string, challenge: string | null): Promise<void> {
    const body = await assertGatewayError(res, status, type);
    assert.equal(res.headers.get('www-authenticate'), challenge);
    assertClean(body, headerLines(res), token);
  }
  function checkRaw(res: RawResponse, status: number, type: string, token: string): void {
    assert.equal(res.status, status);
    assert.equal(errorOf(res.body).type, type);
    assertClean(res.body, rawHeaderLines(res), token);
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const realm = 'Bearer realm="tokengate"';
  const backendCalls = () => backend.received.length;

  test('control: an allowed call passes (so the failures below are the gateway\'s own answers)', async () => {
    const res = await fetch(`${gw.url}/orders`, { headers: bearer(T.valid) });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(backendCalls(), 1);
  });

  test('401 invalid: the seed body repeating the token is not passed on', async () => {
    await check(await fetch(`${gw.url}/orders`, { headers: bearer(T.invalid) }), 401, 'InvalidTokenError', T.invalid, `${realm}, error="invalid_token"`);
    assert.equal(seed.calls.get(T.invalid), 1, 'the validator was asked (and answered with the token in its body)');
  });

  test('401 invalid: the validator\'s own headers (WWW-Authenticate, X-Token-Echo) are not passed on', async () => {
    await check(await fetch(`${gw.url}/orders`, { headers: bearer(T.invalidWithHeaders) }), 401, 'InvalidTokenError', T.invalidWithHeaders, `${realm}, error="invalid_token"`);
  });

  test('401 inactive (200 {"active": false} with the token in the body)', async () => {
    await check(await fetch(`${gw.url}/orders`, { headers: bearer(T.inactive) }), 401, 'InvalidTokenError', T.inactive, `${realm}, error="invalid_token"`);
  });

  test('400 malformed Authorization header', async () => {
    const res = await rawRequest(gw.url, `GET /orders HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\nauthorization: Bearer ${T.malformed}!?`);
    checkRaw(res, 400, 'InvalidRequestError', T.malformed);
    assert.equal(res.headers.get('www-authenticate')?.[0], `${realm}, error="invalid_request"`);
  });

  test('400 token in several places', async () => {
    await check(
      await fetch(`${gw.url}/q?access_token=${encodeURIComponent(T.several)}`, { headers: bearer(T.several) }),
      400, 'InvalidRequestError', T.several, `${realm}, error="invalid_request"`,
    );
  });

  test('400 token where tokenFrom does not allow it', async () => {
    await check(await fetch(`${gw.url}/orders?access_token=${encodeURIComponent(T.notAllowed)}`), 400, 'InvalidRequestError', T.notAllowed, `${realm}, error="invalid_request"`);
  });

  test('400 two Authorization headers', async () => {
    const res = await rawRequest(gw.url, `GET /orders HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\nauthorization: Bearer ${T.duplicate}\r\nauthorization: Bearer ${T.duplicate}`);
    checkRaw(res, 400, 'InvalidRequestError', T.duplicate);
  });

  test('403 insufficient scope', async () => {
    await check(
      await fetch(`${gw.url}/scoped`, { headers: bearer(T.scope) }),
      403, 'InsufficientScopeError', T.scope, `${realm}, error="insufficient_scope", scope="orders:write orders:read"`,
    );
  });

  test('503 unavailable (validator 503 whose body and headers carry the token)', async () => {
    const res = await fetch(`${gw.url}/orders`, { headers: bearer(T.unavailable) });
    await check(res, 503, 'ValidationUnavailableError', T.unavailable, null);
    assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
  });

  test('503 unavailable (validator 429)', async () => {
    await check(await fetch(`${gw.url}/orders`, { headers: bearer(T.throttled) }), 503, 'ValidationUnavailableError', T.throttled, null);
  });

  test('401 with onUnavailable: deny-401 (validator unreachable)', async () => {
    await check(await fetch(`${gw.url}/d401`, { headers: bearer(T.deny401) }), 401, 'InvalidTokenError', T.deny401, `${realm}, error="invalid_token"`);
  });

  test('401 with onUnavailable: deny-401 (validator answers 401 with the token)', async () => {
    await check(await fetch(`${gw.url}/d401live`, { headers: bearer(T.deny401Rejected) }), 401, 'InvalidTokenError', T.deny401Rejected, `${realm}, error="invalid_token"`);
  });

  test('502 backend down', async () => {
    await check(await fetch(`${gw.url}/down`, { headers: bearer(T.down) }), 502, 'UpstreamError', T.down, null);
  });

  test('no denied call reached the backend', () => {
    assert.equal(backendCalls(), 1);
  });
});
