/**
 * Regression for "Keep the door shut" finding 1: with `/orders` (auth required) and `/` (auth none)
 * on one backend, `GET /%6Frders/7` was matched by `/` and forwarded as sent; nginx and Flask decode
 * it and serve their `/orders/7` handler with no token. The router now decides on the path the
 * backend will see: unreserved escapes are decoded and the normalised path is forwarded, and a
 * spelling that a backend ignoring case or ";params" would read as another route is refused.
 *
 * The backend here reads paths the way common frameworks do (percent-decoding, case-insensitive
 * like Express's default router, ";params" dropped like Tomcat) and records which handler a
 * request would reach. The property: no request without a valid token ever reaches /orders.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { listenLocal } from '../fixtures/ports.js';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { hostOf } from './support.js';

const GOOD = '8dbd30ed-2e19-42cf-9b86-aaaaaaaa';

interface Served {
  readonly target: string;
  readonly handler: string;
  readonly token: boolean;
}

/** How a lenient framework reads a path: decoded, lower case, ";params" dropped. */
function frameworkReading(target: string): string {
  const path = target.split('?')[0];
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = path;
  }
  return decoded.replace(/;[^/]*/g, '').toLowerCase();
}

describe('encoded, cased and ;param spellings of an auth route never reach it without a token (regression: finding 1)', () => {
  let seed: SeedEndpoint;
  let backend: Server;
  let backendUrl: string;
  let gw: TestGateway;
  const served: Served[] = [];

  before(async () => {
    seed = await startSeedEndpoint({ users: new Map([[GOOD, SEED_USER_INFO]]) });
    backend = createServer((req, res) => {
      const reading = frameworkReading(req.url!);
      served.push({ target: req.url!, handler: reading.startsWith('/orders') ? '/orders' : '/', token: req.headers.authorization !== undefined });
      res.end('ok');
    });
    backendUrl = await listenLocal(backend);
    gw = await startTestGateway({
      validators: { main: { url: seed.validationUrl } },
      routes: [
        { path: '/', upstream: backendUrl, auth: 'none' },
        { path: '/orders', upstream: backendUrl },
      ],
    });
  });
  after(async () => {
    await gw.close();
    backend.close();
    await seed.close();
  });

  const send = (target: string, token?: string) =>
    rawRequest(gw.url, `GET ${target} HTTP/1.1\r\nhost: ${hostOf(gw.url)}${token === undefined ? '' : `\r\nauthorization: Bearer ${token}`}`);

  test('GET /%6Frders/7 without a token: 401, and the backend never sees it', async () => {
    const before = served.length;
    const res = await send('/%6Frders/7');
    assert.equal(res.status, 401);
    assert.equal(served.length, before);
  });

  test('GET /%6Frders/7 with a token: the backend gets the normalised path /orders/7', async () => {
    const res = await send('/%6Frders/7?x=%6F', GOOD);
    assert.equal(res.status, 200);
    assert.equal(served.at(-1)!.target, '/orders/7?x=%6F', 'the path is normalised, the query is forwarded as sent');
  });

  for (const target of ['/ORDERS/7', '/Orders', '/orders;jsessionid=1/7', '/orders;/7', '/%4Frders/7', '/%6frders%2F7', '/orders%2F7']) {
    test(`${target} without a token is refused (400), never served`, async () => {
      const before = served.length;
      const res = await send(target);
      assert.equal(res.status, 400);
      assert.equal(served.length, before);
    });
  }

  test('property: any spelling of /orders/7 (escapes, case, ;params) without a token never reaches /orders', async () => {
    const spelling = fc
      .tuple(
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), // upper-case each letter of "orders"?
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), // percent-encode each letter?
        fc.constantFrom('', ';', ';jsessionid=1', ';a=b;c'),
        fc.constantFrom('/7', '%2F7', '/%37', '/7;x'),
      )
      .map(([upper, encode, params, rest]) => {
        let name = '';
        for (let i = 0; i < 6; i++) {
          let char = 'orders'[i];
          if (upper[i]) char = char.toUpperCase();
          name += encode[i] ? `%${char.charCodeAt(0).toString(16)}` : char;
        }
        return `/${name}${params}${rest}`;
      });
    await fc.assert(
      fc.asyncProperty(spelling, async (target) => {
        const before = served.length;
        const res = await send(target);
        const reached = served.slice(before);
        assert.ok(res.status === 401 || res.status === 400 || reached.every((s) => s.handler !== '/orders'), `${target} -> ${res.status} reached ${JSON.stringify(reached)}`);
        assert.ok(reached.every((s) => s.handler !== '/orders' || s.token));
      }),
      { seed: 7, numRuns: 150 },
    );
  });
});
