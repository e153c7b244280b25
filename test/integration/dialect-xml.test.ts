/**
 * SPEC 7.4, XML answers: a validator answering `application/xml` is judged by the same rules, and
 * the route's XPath identity paths fill the identity headers. The seed's sample user as XML comes
 * through byte-exact as UTF-8 and percent-encoded; `active` false is a 401 cached negatively; an
 * answer that tries an external entity or an entity-expansion bomb is a 503 with nothing resolved
 * (a canary server the entity points at is never called), never cached, and the next call is
 * served; the heap stays flat over many bombs.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { errorOf, headerBytes, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { SEED_USER_XML, startSeedEndpoint, type ScriptedAnswer, type SeedEndpoint } from '../fixtures/seed-endpoint.js';

const GOOD = 'xml-good-token-1';
const INACTIVE = 'xml-inactive-token-1';
const XXE_HTTP = 'xml-xxe-http-token';
const XXE_FILE = 'xml-xxe-file-token';
const LAUGHS = 'xml-billion-laughs';
const QUADRATIC = 'xml-quadratic-blowup';
const HUGE = 'xml-over-the-bound';
const PLAIN = 'xml-labelled-text-plain';

function billionLaughs(): string {
  const levels = ['<!ENTITY lol0 "lol">'];
  for (let i = 1; i <= 9; i++) levels.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
  return `<?xml version="1.0"?>\n<!DOCTYPE user [\n ${levels.join('\n ')}\n]>\n<user><uid>&lol9;</uid><active>true</active></user>`;
}

function quadraticBlowup(): string {
  return `<?xml version="1.0"?><!DOCTYPE user [<!ENTITY a "${'x'.repeat(20_000)}">]><user><active>true</active><uid>${'&a;'.repeat(10_000)}</uid></user>`;
}

function xml(body: string, contentType = 'application/xml; charset=utf-8'): ScriptedAnswer {
  return { status: 200, headers: { 'content-type': contentType }, body: Buffer.from(body, 'utf8') };
}

describe('XML answers (SPEC 7.4)', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  let canary: Server;
  let canaryHits = 0;
  let canaryUrl: string;

  before(async () => {
    canary = createServer((_req, res) => {
      canaryHits++;
      res.end('<uid>resolved</uid>');
    });
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
    canaryUrl = `http://127.0.0.1:${(canary.address() as AddressInfo).port}/xxe`;

    seed = await startSeedEndpoint({
      script: (token) => {
        switch (token) {
          case GOOD:
            return xml(SEED_USER_XML);
          case INACTIVE:
            return xml('<user><active>false</active><uid>abcd23456</uid></user>', 'text/xml');
          case XXE_HTTP:
            return xml(`<?xml version="1.0"?><!DOCTYPE user [<!ENTITY xxe SYSTEM "${canaryUrl}">]><user><uid>&xxe;</uid></user>`);
          case XXE_FILE:
            return xml('<?xml version="1.0"?><!DOCTYPE user [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><user><uid>&xxe;</uid></user>');
          case LAUGHS:
            return xml(billionLaughs());
          case QUADRATIC:
            return xml(quadraticBlowup());
          case HUGE:
            return xml(`<user><active>true</active><uid>u</uid>${'<pad>x</pad>'.repeat(8_000)}</user>`);
          case PLAIN:
            return xml('<?xml version="1.0"?><user><active>false</active></user>', 'text/plain');
          default:
            return { status: 401, body: '' };
        }
      },
    });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, clientLimits: { validatorCallsInFlight: 1000, validatorCallsPerSecond: 100_000 } },
      // The bombs must reach the validator every time: no breaker.
      validators: { seed: { url: seed.validationUrl, circuitBreaker: { failures: 0 } } },
      routes: [
        {
          path: '/utf8',
          upstream: backend.url,
          identityHeaders: {
            'X-User-Id': '/user/uid',
            'X-User-Email': '/user/email',
            'X-User-Last-Name': '/user/lastName',
            'X-Account-Ids': '//account/uid',
            'X-Account-Names': '//account/name',
            'X-User-Type': '/user/@type',
            'X-Json-Path': 'uid',
          },
        },
        {
          path: '/pct',
          upstream: backend.url,
          identityEncoding: 'percent',
          identityHeaders: { 'X-User-Last-Name': '/user/lastName', 'X-Account-Names': '//account/name' },
        },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close(), new Promise<void>((resolve) => canary.close(() => resolve()))]);
  });

  function call(path: string, token: string): Promise<Response> {
    return fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  }

  test('the seed user as XML: XPath identity headers arrive as the UTF-8 bytes, several nodes joined with ","', async () => {
    const res = await call('/utf8', GOOD);
    assert.equal(res.status, 200, await res.text());
    const got = backend.received.at(-1)!;
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-id'), [Buffer.from('abcd23456')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-email'), [Buffer.from('jason.borne@marketplace.se')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-last-name'), [Buffer.from('öhlundi', 'utf8')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-account-ids'), [Buffer.from('100004567,100004444')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-account-names'), [Buffer.from('Adam Phils,Duffy woöf', 'utf8')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-type'), [Buffer.from('userWsDTO')]);
    // A JSONPath matches nothing in an XML answer: that header is not sent.
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-json-path'), []);
  });

  test('identityEncoding percent: RFC 3986 upper-case hex, each node encoded, joined with ","', async () => {
    const res = await call('/pct', GOOD);
    assert.equal(res.status, 200);
    const got = backend.received.at(-1)!;
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-user-last-name'), [Buffer.from('%C3%B6hlundi')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-account-names'), [Buffer.from('Adam%20Phils,Duffy%20wo%C3%B6f')]);
  });

  test('<active>false</active> (text/xml): 401 InvalidTokenError, cached negatively (one validator call for two requests)', async () => {
    const before = backend.received.length;
    for (let i = 0; i < 2; i++) {
      const res = await call('/utf8', INACTIVE);
      assert.equal(res.status, 401);
      assert.equal(errorOf(await res.text()).type, 'InvalidTokenError');
    }
    assert.equal(seed.calls.get(INACTIVE), 1);
    assert.equal(backend.received.length, before);
    const reasons = gw.logs.requests().filter((line) => line.status === 401).map((line) => line.reason);
    assert.ok(reasons.includes('token_inactive'), JSON.stringify(reasons));
  });

  test('an XML declaration labelled text/plain is still read as XML: active false is not valid', async () => {
    const res = await call('/utf8', PLAIN);
    assert.equal(res.status, 401);
  });

  for (const [name, token] of [
    ['an external entity over http (XXE)', XXE_HTTP],
    ['an external entity on file:///etc/passwd (XXE)', XXE_FILE],
    ['billion laughs', LAUGHS],
    ['a quadratic blow-up', QUADRATIC],
    ['an answer over the XML bound', HUGE],
  ] as const) {
    test(`${name}: 503 unavailable, nothing resolved, never cached, the next call served`, async () => {
      const before = backend.received.length;
      for (let i = 0; i < 2; i++) {
        const res = await call('/utf8', token);
        assert.equal(res.status, 503);
        assert.equal(errorOf(await res.text()).type, 'ValidationUnavailableError');
        assert.ok(res.headers.get('retry-after') !== null);
      }
      assert.equal(seed.calls.get(token), 2, 'an unavailable answer is never cached');
      assert.equal(backend.received.length, before, 'nothing reached the backend');
      assert.equal(canaryHits, 0, 'the external entity was never fetched');
      const good = await call('/utf8', GOOD);
      assert.equal(good.status, 200);
      assert.deepEqual(headerBytes(backend.received.at(-1)!.rawHeaders, 'x-user-id'), [Buffer.from('abcd23456')]);
    });
  }

  test('the heap stays flat over many bombs', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const round = async (n: number) => {
      for (let i = 0; i < n; i += 50) {
        const answers = await Promise.all(Array.from({ length: 50 }, (_, k) => call('/utf8', (i + k) % 2 === 0 ? LAUGHS : QUADRATIC)));
        for (const res of answers) {
          assert.equal(res.status, 503);
          await res.arrayBuffer();
        }
      }
    };
    await round(100); // warm up
    gc();
    const before = process.memoryUsage().heapUsed;
    await round(500);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 16 * 1024 * 1024, `heap grew by ${(grown / 1024 / 1024).toFixed(1)} MiB over 500 bombs`);
    assert.equal(canaryHits, 0);
    assert.equal((await call('/utf8', GOOD)).status, 200);
  });
});
