/**
 * Slow and greedy clients on raw sockets (SPEC section 8 and notes/attacking-the-gateway.md): the
 * header block, the whole request and an idle keep-alive connection each have a deadline that holds
 * (Node checks them every second), a refusal does not wait for a body that is still trickling in, and
 * connections are bounded in all and per client address.
 *
 * Timing assertions are upper bounds on deadlines that must hold, with the 1 s checking interval and
 * some slack added; nothing asserts that something is fast.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { hostOf } from './support.js';

const VALID = 'slow-clients-valid-token-1';
const HEADERS_TIMEOUT_S = 2;
const REQUEST_TIMEOUT_S = 3;
const KEEP_ALIVE_S = 2;
/** Node checks header and request deadlines once a second; allow that and scheduling. */
const SLACK_MS = 1_500;

/** A raw client connection that records what it received and when it was closed. */
interface RawClient {
  readonly socket: Socket;
  readonly openedAt: number;
  text(): string;
  /** performance.now() when the gateway closed it, or null while open. */
  closedAt(): number | null;
  /** Resolves when closed, or after `ms` (then `false`). */
  closed(ms: number): Promise<boolean>;
  /** Resolves with the time the first response's head had arrived, or null when closed without one or after `ms`. */
  answered(ms: number): Promise<number | null>;
}

function rawClient(url: string, localAddress = '127.0.0.1'): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ port: Number(port), host: hostname, localAddress });
    let received = '';
    let closedAt: number | null = null;
    let answeredAt: number | null = null;
    const waiters: (() => void)[] = [];
    const wake = () => waiters.splice(0).forEach((w) => w());
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (answeredAt === null && received.includes('\r\n\r\n')) answeredAt = performance.now();
      wake();
    });
    socket.on('error', () => undefined); // a reset is a close like any other here
    socket.on('close', () => {
      closedAt = performance.now();
      wake();
    });
    const until = (done: () => boolean, ms: number) =>
      new Promise<boolean>((res) => {
        if (done()) return res(true);
        const timer = setTimeout(() => res(done()), ms);
        const check = () => {
          if (done()) {
            clearTimeout(timer);
            res(true);
          } else waiters.push(check);
        };
        waiters.push(check);
      });
    socket.once('connect', () =>
      resolve({
        socket,
        openedAt: performance.now(),
        text: () => received,
        closedAt: () => closedAt,
        closed: (ms) => until(() => closedAt !== null, ms),
        answered: async (ms) => {
          await until(() => answeredAt !== null || closedAt !== null, ms);
          return answeredAt;
        },
      }),
    );
    socket.once('error', reject);
  });
}

/** Writes `bytes` one byte at a time every `everyMs` until the socket closes or `maxBytes` were sent. */
async function trickle(client: RawClient, bytes: string, everyMs: number, maxBytes = bytes.length): Promise<number> {
  let sent = 0;
  for (; sent < Math.min(bytes.length, maxBytes) && client.closedAt() === null && client.socket.writable; sent++) {
    client.socket.write(bytes[sent], 'latin1');
    await sleep(everyMs);
  }
  return sent;
}

function statusOf(text: string): number | null {
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  return match === null ? null : Number(match[1]);
}

let seed: SeedEndpoint;
let backend: SampleBackend;
before(async () => {
  seed = await startSeedEndpoint({ users: new Map([[VALID, { uid: 'slow-user' }]]) });
  backend = await startSampleBackend();
});
after(() => Promise.all([seed.close(), backend.close()]));

// The deadline tests wait seconds each and use connections and paths of their own: run them at once.
describe('deadlines: headers, request, keep-alive', { concurrency: true }, () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, headersTimeoutSeconds: HEADERS_TIMEOUT_S, requestTimeoutSeconds: REQUEST_TIMEOUT_S, keepAliveTimeoutSeconds: KEEP_ALIVE_S },
      validators: { v: { url: seed.validationUrl, timeoutMs: 1_000 } },
      routes: [
        { path: '/api', upstream: backend.url },
        { path: '/form', upstream: backend.url, tokenFrom: ['header', 'form'] },
        { path: '/public', upstream: backend.url, auth: 'none' },
      ],
    });
  });
  after(() => gw.close());
  const host = () => `host: ${hostOf(gw.url)}`;
  /** Did the backend get a (whole) request for `path`? */
  const reached = (path: string) => backend.received.some((r) => r.url === path);

  test(`headers at one byte per 200 ms (headersTimeoutSeconds: ${HEADERS_TIMEOUT_S}): cut off within ${HEADERS_TIMEOUT_S} s + ${SLACK_MS} ms, nothing forwarded`, async (t) => {
    const client = await rawClient(gw.url);
    // An endless header block: at most 40 bytes (8 s) are ever sent.
    const head = `GET /public/slow HTTP/1.1\r\n${host()}\r\nx-padding: ${'a'.repeat(200)}`;
    const sent = await trickle(client, head, 200, 40);
    assert.ok(await client.closed(HEADERS_TIMEOUT_S * 1000 + SLACK_MS), 'closed');
    const tookMs = client.closedAt()! - client.openedAt;
    t.diagnostic(`cut off after ${tookMs.toFixed(0)} ms, ${sent} header bytes sent`);
    assert.ok(tookMs <= HEADERS_TIMEOUT_S * 1000 + SLACK_MS, `cut off after ${tookMs.toFixed(0)} ms`);
    assert.ok(sent < 40, 'the client was still sending when it was cut off');
    const status = statusOf(client.text());
    assert.ok(status === null || status === 408, `answered ${status ?? 'nothing'}`);
    assert.equal(reached('/public/slow'), false);
  });

  for (const [label, token, path] of [
    ['no token', null, '/api/upload-1'],
    ['an invalid token (the validator says 401)', 'slow-clients-not-a-valid-token', '/api/upload-2'],
  ] as const) {
    test(`auth route, Content-Length: 100000, body trickling, ${label}: 401 at once, Connection: close, and the connection ends right after`, async (t) => {
      const client = await rawClient(gw.url);
      const head = [`POST ${path} HTTP/1.1`, host(), 'content-type: application/octet-stream', 'content-length: 100000', ...(token === null ? [] : [`authorization: Bearer ${token}`])].join('\r\n');
      client.socket.write(`${head}\r\n\r\n`, 'latin1');
      const headSentAt = performance.now();
      // The body: one byte every 50 ms, for at most 4 s (it would take 83 minutes to finish).
      const body = trickle(client, 'x'.repeat(100_000), 50, 80);
      const answeredAt = await client.answered(SLACK_MS);
      assert.ok(answeredAt !== null, 'answered while the body was still arriving');
      assert.equal(statusOf(client.text()), 401);
      assert.match(client.text(), /\r\nconnection: close\r\n/i, 'Connection: close');
      assert.ok(await client.closed(SLACK_MS), 'the connection ends with the answer');
      t.diagnostic(`answered ${(answeredAt - headSentAt).toFixed(0)} ms after the head, closed ${(client.closedAt()! - answeredAt).toFixed(0)} ms later`);
      assert.ok(client.closedAt()! - answeredAt <= SLACK_MS, `closed ${(client.closedAt()! - answeredAt).toFixed(0)} ms after the answer`);
      assert.ok(client.closedAt()! - headSentAt < REQUEST_TIMEOUT_S * 1000, 'well before the request deadline would have ended it');
      await body;
      assert.equal(reached(path), false, 'the backend never saw it');
      if (token !== null) assert.equal(seed.calls.get(token), 1, 'judged by one call');
    });
  }

  test(`a valid token with a body that never completes: forwarded as it streams, ended by requestTimeoutSeconds (${REQUEST_TIMEOUT_S} s + ${SLACK_MS} ms); the backend never gets a whole request`, async (t) => {
    const client = await rawClient(gw.url);
    client.socket.write(`POST /api/stream HTTP/1.1\r\n${host()}\r\nauthorization: Bearer ${VALID}\r\ncontent-length: 100000\r\n\r\n`, 'latin1');
    await trickle(client, 'y'.repeat(100_000), 50, 160);
    assert.ok(await client.closed(REQUEST_TIMEOUT_S * 1000 + SLACK_MS), 'closed');
    const tookMs = client.closedAt()! - client.openedAt;
    t.diagnostic(`ended after ${tookMs.toFixed(0)} ms`);
    assert.ok(tookMs <= REQUEST_TIMEOUT_S * 1000 + SLACK_MS, `ended after ${tookMs.toFixed(0)} ms`);
    await sleep(200);
    assert.equal(reached('/api/stream'), false, 'no complete request reached the backend');
  });

  test(`tokenFrom form: the body must be read to find the token, and a trickling one is ended by requestTimeoutSeconds (${REQUEST_TIMEOUT_S} s + ${SLACK_MS} ms)`, async (t) => {
    const client = await rawClient(gw.url);
    client.socket.write(`POST /form/submit HTTP/1.1\r\n${host()}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100000\r\n\r\n`, 'latin1');
    await trickle(client, `a=${'z'.repeat(99_998)}`, 50, 160);
    assert.ok(await client.closed(REQUEST_TIMEOUT_S * 1000 + SLACK_MS), 'closed');
    const tookMs = client.closedAt()! - client.openedAt;
    t.diagnostic(`ended after ${tookMs.toFixed(0)} ms`);
    assert.ok(tookMs <= REQUEST_TIMEOUT_S * 1000 + SLACK_MS, `ended after ${tookMs.toFixed(0)} ms`);
    const status = statusOf(client.text());
    assert.ok(status === null || status === 408, `answered ${status ?? 'nothing'}`);
    assert.equal(reached('/form/submit'), false);
  });

  test(`an idle keep-alive connection is closed after keepAliveTimeoutSeconds (${KEEP_ALIVE_S} s + ${SLACK_MS} ms)`, async (t) => {
    const client = await rawClient(gw.url);
    client.socket.write(`GET /public/idle HTTP/1.1\r\n${host()}\r\n\r\n`, 'latin1');
    const answeredAt = await client.answered(2_000);
    assert.ok(answeredAt !== null);
    assert.equal(statusOf(client.text()), 200);
    assert.doesNotMatch(client.text(), /\r\nconnection: close\r\n/i, 'kept alive after the answer');
    assert.ok(await client.closed(KEEP_ALIVE_S * 1000 + SLACK_MS), 'closed while idle');
    const idleMs = client.closedAt()! - answeredAt;
    t.diagnostic(`closed after ${idleMs.toFixed(0)} ms idle`);
    assert.ok(idleMs <= KEEP_ALIVE_S * 1000 + SLACK_MS, `closed after ${idleMs.toFixed(0)} ms idle`);
  });
});

describe('connection bounds', () => {
  test('maxConnectionsPerClient: 5: the 6th connection from 127.0.0.2 is refused while 127.0.0.1 still connects; closing one frees a place', async () => {
    const gw = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, maxConnectionsPerClient: 5, keepAliveTimeoutSeconds: 30 },
      validators: { v: { url: seed.validationUrl } },
      routes: [{ path: '/public', upstream: backend.url, auth: 'none' }],
    });
    const clients: RawClient[] = [];
    try {
      const request = `GET /public/n HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\n\r\n`;
      const served = async (client: RawClient) => {
        client.socket.write(request, 'latin1');
        return (await client.answered(2_000)) !== null && statusOf(client.text()) === 200;
      };
      for (let i = 0; i < 5; i++) {
        const client = await rawClient(gw.url, '127.0.0.2');
        clients.push(client);
        assert.equal(await served(client), true, `connection ${i + 1} from 127.0.0.2 is served and stays open`);
      }
      const sixth = await rawClient(gw.url, '127.0.0.2');
      clients.push(sixth);
      sixth.socket.write(request, 'latin1');
      assert.ok(await sixth.closed(2_000), 'the 6th connection is closed');
      assert.equal(sixth.text(), '', 'without an answer');

      const other = await rawClient(gw.url, '127.0.0.1');
      clients.push(other);
      assert.equal(await served(other), true, 'another client still connects');

      clients[0].socket.destroy();
      await clients[0].closed(1_000);
      // The gateway sees the close a moment later: try a bounded number of times.
      let again = false;
      for (let attempt = 0; attempt < 20 && !again; attempt++) {
        const next = await rawClient(gw.url, '127.0.0.2');
        clients.push(next);
        again = await served(next);
        if (!again) await sleep(50);
      }
      assert.equal(again, true, 'a place freed by a closed connection can be taken again');
    } finally {
      for (const client of clients) client.socket.destroy();
      await gw.close();
    }
  });

  test('maxConnections: 4: a 5th connection (from any address) is refused; a freed place can be taken again', async () => {
    const gw = await startTestGateway({
      server: { host: '127.0.0.1', port: 0, maxConnections: 4, keepAliveTimeoutSeconds: 30 },
      validators: { v: { url: seed.validationUrl } },
      routes: [{ path: '/public', upstream: backend.url, auth: 'none' }],
    });
    const clients: RawClient[] = [];
    try {
      const request = `GET /public/m HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\n\r\n`;
      for (const address of ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14']) {
        const client = await rawClient(gw.url, address);
        clients.push(client);
        client.socket.write(request, 'latin1');
        assert.notEqual(await client.answered(2_000), null, `${address} is served`);
      }
      const fifth = await rawClient(gw.url, '127.0.0.15');
      clients.push(fifth);
      fifth.socket.write(request, 'latin1');
      assert.ok(await fifth.closed(2_000), 'the 5th connection is closed');
      assert.equal(fifth.text(), '');
      clients[0].socket.destroy();
      await clients[0].closed(1_000);
      let again = false;
      for (let attempt = 0; attempt < 20 && !again; attempt++) {
        const next = await rawClient(gw.url, '127.0.0.16');
        clients.push(next);
        next.socket.write(request, 'latin1');
        again = (await next.answered(500)) !== null;
        if (!again) await sleep(50);
      }
      assert.equal(again, true);
    } finally {
      for (const client of clients) client.socket.destroy();
      await gw.close();
    }
  });
});
