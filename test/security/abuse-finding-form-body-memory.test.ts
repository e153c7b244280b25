/**
 * Finding (abuse, memory): on a route with `tokenFrom: [form]`, every form POST is buffered whole
 * (up to MAX_FORM_BYTES = 1 MiB, faces/proxy.ts) before it is judged, and nothing bounds how many
 * such buffers one client may hold at once but maxConnectionsPerClient (1,000 by default) and
 * requestTimeoutSeconds (300). One client address can pin about 1 GiB for five minutes, and ten
 * addresses (maxConnections 10,000) 10 GiB: enough to get the gateway killed for everyone.
 *
 * Reproduction: N connections from 127.0.0.2, each `POST /form` with `Content-Type:
 * application/x-www-form-urlencoded`, `Content-Length: 1048576` and 1 MiB minus 1 KiB of body, then
 * silence. Measured here: 48 connections pin about 48 MiB of the gateway's buffers.
 *
 * Fixed when: the bytes of form bodies being read are bounded per client (and in all), or the form
 * bound is small (a token fits in a few KiB). The threshold below (8 MiB for one client) is the
 * test's, not the configuration's. Fixed: this test passed once the fix landed.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';

const MiB = 1024 * 1024;
const CONNECTIONS = 48;

describe('finding: one client can make the gateway buffer form bodies without bound', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  const sockets: Socket[] = [];

  before(async () => {
    seed = await startSeedEndpoint({ users: new Map([['form-valid-token', { uid: 'u' }]]) });
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { v: { url: seed.validationUrl } },
      routes: [{ path: '/form', upstream: backend.url, tokenFrom: ['header', 'form'] }],
    });
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  test(`${CONNECTIONS} held form POSTs of ~1 MiB from 127.0.0.2 pin less than 8 MiB of the gateway's memory`, async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { port } = new URL(gw.url);
    // One body buffer shared by every connection: the client side allocates nothing per connection.
    const body = Buffer.alloc(MiB - 1024, 'a');
    const head = Buffer.from(`POST /form/upload HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: ${MiB}\r\n\r\n`);
    gc();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < CONNECTIONS; i++) {
      const socket = connect({ port: Number(port), host: '127.0.0.1', localAddress: '127.0.0.2' });
      socket.on('error', () => undefined);
      sockets.push(socket);
      socket.write(head);
      await new Promise<void>((resolve) => socket.write(body, () => resolve()));
    }
    await sleep(500); // let the gateway read what is in flight
    gc();
    const pinned = process.memoryUsage().arrayBuffers - before;

    // Meanwhile another client is still served (the gateway is alive, just heavy).
    const res = await rawRequest(gw.url, `POST /form/ok HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/x-www-form-urlencoded`, 'access_token=form-valid-token');
    assert.equal(res.status, 200);

    assert.ok(pinned < 8 * MiB, `one client pins ${(pinned / MiB).toFixed(1)} MiB with ${CONNECTIONS} connections (default maxConnectionsPerClient: 1,000)`);
  });
});
