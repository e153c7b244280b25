/**
 * Finding (abuse, slow reader): a client that never reads its response holds its connection, and the
 * backend connection behind it, for ever. `upstreamTimeoutMs` is the upstream pool's headers and
 * body timeout (faces/upstream.ts), but undici does not run the body timeout while the handler has
 * paused it for back-pressure, and the gateway sets no send deadline of its own (node's
 * server.timeout is 0). Each stalled exchange keeps one backend connection mid-response: against a
 * backend with a worker per connection (gunicorn sync workers, a thread pool, PHP-FPM children) a
 * single client address with a few dozen connections takes every worker, and the other clients wait.
 * maxConnectionsPerClient (1,000) is the only bound.
 *
 * Reproduction: `GET /big` (an open route whose backend answers 32 MiB), read the first chunk, then
 * stop reading. Measured here: the exchange and the backend's response were still open after 4 s
 * with upstreamTimeoutMs 1000; in an exploration, still open after 6 s with requestTimeoutSeconds 2.
 *
 * Fixed when: an answer that makes no progress towards the client for upstreamTimeoutMs (or a send
 * timeout of its own, like nginx's send_timeout) ends the exchange and releases the backend. This
 * test fails today.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';

const UPSTREAM_TIMEOUT_MS = 1_000;
const STALLED = 4;

describe('finding: a client that does not read holds a backend connection for ever', () => {
  let seed: SeedEndpoint;
  let big: Server;
  let bigUrl: string;
  /** Responses the backend has started and neither finished nor seen aborted. */
  let inProgress = 0;
  let gw: TestGateway;
  const sockets: Socket[] = [];

  before(async () => {
    seed = await startSeedEndpoint();
    const chunk = Buffer.alloc(1024 * 1024, 'b');
    big = createServer((_req, res) => {
      inProgress++;
      let done = false;
      const end = () => {
        if (!done) inProgress--;
        done = true;
      };
      res.on('finish', end);
      res.on('close', end);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 32 * chunk.length });
      let sent = 0;
      const pump = () => {
        while (sent < 32) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', resolve));
    bigUrl = `http://127.0.0.1:${(big.address() as { port: number }).port}`;
    gw = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, requestTimeoutSeconds: 2, headersTimeoutSeconds: 2 },
      validators: { v: { url: seed.validationUrl } },
      routes: [{ path: '/big', upstream: bigUrl, auth: 'none', upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS }],
    });
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await gw.close();
    big.closeAllConnections();
    await new Promise<void>((resolve) => big.close(() => resolve()));
    await seed.close();
  });

  test(`${STALLED} stalled readers from 127.0.0.2: within upstreamTimeoutMs + 3 s the gateway has ended them and released the backend`, async () => {
    const { port } = new URL(gw.url);
    const closed: boolean[] = [];
    for (let i = 0; i < STALLED; i++) {
      const socket = connect({ port: Number(port), host: '127.0.0.1', localAddress: '127.0.0.2' });
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.once('data', () => socket.pause()); // read the first chunk, then nothing
      socket.on('close', () => (closed[i] = true));
      socket.write(`GET /big/${i} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`);
    }
    for (let i = 0; i < 50 && inProgress < STALLED; i++) await sleep(20);
    assert.equal(inProgress, STALLED, 'every response has started');
    await sleep(UPSTREAM_TIMEOUT_MS + 3_000);
    assert.equal(inProgress, 0, `${inProgress} backend responses are still held open by clients that read nothing`);
    // A paused socket notices nothing; once it reads again it finds its connection cut, not held.
    for (const socket of sockets) socket.resume();
    for (let i = 0; i < 50 && closed.filter(Boolean).length < STALLED; i++) await sleep(20);
    assert.equal(closed.filter(Boolean).length, STALLED, 'the stalled client connections were ended');
  });
});
