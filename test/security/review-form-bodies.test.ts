/**
 * Findings of a review of the form-body checks (method overrides in bodies, RFC 6750 §2.2 tokens):
 *
 * - multipart-upload-intact: the `_method` watch listened beside the upstream's reader, which set
 *   the request flowing before the upstream read it: a multipart upload reached the backend empty
 *   (or, larger, failed as 502). The watch is now the body itself.
 * - override-on-open-route: on an `auth: none` route that honours overrides, a urlencoded body's
 *   `_method` was not read, so `POST` with `_method=DELETE` passed as a POST, past a DELETE route
 *   that needs a scope.
 * - several-content-types: with two Content-Type headers the gateway read the last and Node
 *   backends the first, so a urlencoded body's `_method` passed labelled text/plain.
 * - php-parameter-names: PHP reads "." and " " in a parameter name as "_", so Laravel and Symfony
 *   act on `.method=DELETE` as on `_method=DELETE`; the gateway compared names exactly.
 * - form-budget-announced: a chunked form body reserved the whole form bound (1 MiB) before a byte
 *   arrived, so two idle chunked POSTs took one address's whole budget: its next form got 429.
 *   Bytes are now counted as they arrive.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { hostOf } from './support.js';

const WRITER = 'review-writer-token';

describe('review findings: form bodies', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  before(async () => {
    seed = await startSeedEndpoint({ users: new Map([[WRITER, { uid: 'w', scope: 'orders:write' }]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { v: { url: seed.validationUrl } },
      routes: [
        { path: '/orders', methods: ['POST'], upstream: backend.url, requiredScopes: ['orders:write'] },
        { path: '/form', upstream: backend.url, tokenFrom: ['header', 'form'] },
        { path: '/pub', methods: ['POST'], upstream: backend.url, auth: 'none', methodOverride: true },
        { path: '/pub', methods: ['DELETE'], upstream: backend.url, requiredScopes: ['orders:delete'], methodOverride: true },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  let serial = 0;
  async function post(path: string, headers: string[], body: string) {
    const target = `${path}/r${++serial}`;
    const res = await rawRequest(gw.url, [`POST ${target} HTTP/1.1`, `host: ${hostOf(gw.url)}`, ...headers].join('\r\n'), body);
    return { status: res.status, got: backend.received.find((r) => r.url === target) };
  }

  for (const [label, size] of [['small', 75], ['200 KB', 200_000]] as const) {
    test(`multipart-upload-intact: a ${label} multipart upload without _method reaches the backend byte for byte`, async () => {
      const file = 'x'.repeat(size);
      const body = `--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n${file}\r\n--XyZ--\r\n`;
      const { status, got } = await post('/orders', [`authorization: Bearer ${WRITER}`, 'content-type: multipart/form-data; boundary=XyZ', `content-length: ${body.length}`], body);
      assert.equal(status, 200);
      assert.equal(got?.body.toString('latin1'), body);
    });
  }

  test('multipart-upload-intact: a _method part after other parts is still refused, and the backend never gets the whole body', async () => {
    const body = `--XyZ\r\nContent-Disposition: form-data; name="file"\r\n\r\n${'y'.repeat(100_000)}\r\n--XyZ\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--XyZ--\r\n`;
    const { status, got } = await post('/orders', [`authorization: Bearer ${WRITER}`, 'content-type: multipart/form-data; boundary=XyZ', `content-length: ${body.length}`], body);
    assert.notEqual(status, 200);
    if (got !== undefined) assert.doesNotMatch(got.body.toString('latin1'), /_method/);
  });

  test('override-on-open-route: _method=DELETE in a urlencoded body on an open route is refused, not passed as a POST', async () => {
    const { status, got } = await post('/pub', ['content-type: application/x-www-form-urlencoded'], 'id=7&_method=DELETE');
    assert.equal(status, 400);
    assert.equal(got, undefined);
  });

  test('override-on-open-route: control, a form without _method on the open route is forwarded whole', async () => {
    const { status, got } = await post('/pub', ['content-type: application/x-www-form-urlencoded'], 'id=7');
    assert.equal(status, 200);
    assert.equal(got?.body.toString('latin1'), 'id=7');
  });

  test('several-content-types: two Content-Type headers are a 400 and never reach the backend', async () => {
    const { status, got } = await post('/orders', [`authorization: Bearer ${WRITER}`, 'content-type: application/x-www-form-urlencoded', 'content-type: text/plain'], 'id=7&_method=DELETE');
    assert.equal(status, 400);
    assert.equal(got, undefined);
  });

  for (const [label, contentType, body] of [
    ['urlencoded ".method"', 'application/x-www-form-urlencoded', 'id=7&.method=DELETE'],
    ['urlencoded "+method"', 'application/x-www-form-urlencoded', 'id=7&+method=DELETE'],
    ['multipart ".method"', 'multipart/form-data; boundary=XyZ', '--XyZ\r\nContent-Disposition: form-data; name=".method"\r\n\r\nDELETE\r\n--XyZ--\r\n'],
  ] as const) {
    test(`php-parameter-names: a ${label} field in a POST body never reaches the backend`, async () => {
      const { status, got } = await post('/orders', [`authorization: Bearer ${WRITER}`, `content-type: ${contentType}`, `content-length: ${body.length}`], body);
      assert.equal(status, 400);
      if (got !== undefined) assert.doesNotMatch(got.body.toString('latin1'), /method=DELETE|"\.method"/);
    });
  }

  test('form-budget-announced: idle chunked form POSTs hold only what they sent: the same address is still served', async () => {
    const { port } = new URL(gw.url);
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const socket = connect({ port: Number(port), host: '127.0.0.1', localAddress: '127.0.0.2' });
        socket.on('error', () => undefined);
        idle.push(socket);
        socket.write(`POST /form/idle${i} HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n`);
      }
      await sleep(200); // the gateway has begun reading each of them
      const res = await rawRequest(gw.url, `POST /form/ok HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\ncontent-type: application/x-www-form-urlencoded`, `access_token=${WRITER}`, { localAddress: '127.0.0.2' });
      assert.equal(res.status, 200);
    } finally {
      for (const socket of idle) socket.destroy();
    }
  });
});
