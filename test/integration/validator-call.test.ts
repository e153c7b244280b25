/**
 * The validator call's three bounds, seen from a real validator that counts what it was sent: an
 * answer over 1 MiB is never judged (a 2 MiB answer is a failed call, its connection given up), an answer that never comes is given up at the deadline (the gateway closes the connection),
 * and calls reuse kept-alive connections (RFC 9112 §9.3) instead of opening one each.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { listen, urlOf } from '../../src/http/listen.js';
import { SEED_USER_INFO } from '../fixtures/seed-endpoint.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { assertGatewayError } from '../security/support.js';

const MIB = 1024 * 1024;

interface CountingValidator {
  readonly server: Server;
  /** Connections accepted, ever. */
  connections: number;
  /** Requests received, by token. */
  readonly calls: Map<string, number>;
  /** The connection of the 2 MiB answer, and whether the gateway closed it. */
  bigAnswer: { closed: boolean } | null;
  /** Sockets of calls that were never answered, and whether the gateway closed each. */
  readonly unanswered: { socket: Socket; closed: boolean }[];
}

async function startCountingValidator(): Promise<CountingValidator> {
  const state: CountingValidator = { server: undefined as unknown as Server, connections: 0, calls: new Map(), bigAnswer: null, unanswered: [] };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    state.calls.set(token, (state.calls.get(token) ?? 0) + 1);
    req.resume();
    if (token.startsWith('never-')) {
      const entry = { socket: req.socket, closed: false };
      req.socket.once('close', () => (entry.closed = true));
      state.unanswered.push(entry);
      return; // no answer, ever
    }
    if (token.startsWith('two-mib-')) {
      const entry = { closed: false };
      req.socket.once('close', () => (entry.closed = true));
      state.bigAnswer = entry;
      // Chunked, so that only the bytes (not a declared length) can show it is too large.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.on('error', () => undefined);
      res.end(`{"uid":"big","pad":"${' '.repeat(2 * MIB)}"}`);
      return;
    }
    if (token.startsWith('unknown-')) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":"invalid_token"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(SEED_USER_INFO));
  });
  server.on('connection', () => state.connections++);
  await listen(server, 0, '127.0.0.1');
  return Object.assign(state, { server });
}

describe('the validator call: size bound, deadline, kept-alive connections', () => {
  let validator: CountingValidator;
  let backend: SampleBackend;
  let gw: TestGateway;

  before(async () => {
    validator = await startCountingValidator();
    backend = await startSampleBackend();
    gw = await startTestGateway({
      // Caching off: every request is a call.
      validators: { main: { url: `${urlOf(validator.server)}/check`, timeoutMs: 300, circuitBreaker: { failures: 0 }, cache: { ttlSeconds: 0 } } },
      routes: [{ path: '/api', upstream: backend.url, validator: 'main' }],
    });
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => {
      validator.server.close(() => resolve());
      validator.server.closeAllConnections();
    });
    await backend.close();
  });

  function call(token: string): Promise<Response> {
    return fetch(`${gw.url}/api`, { headers: { authorization: `Bearer ${token}` } });
  }

  test('sequential calls, allowed and refused, share one kept-alive connection', async () => {
    const opened = validator.connections;
    for (let i = 0; i < 30; i++) {
      const res = await call(i % 3 === 0 ? `unknown-${i}-token` : `good-${i}-token`);
      assert.equal(res.status, i % 3 === 0 ? 401 : 200);
      await res.arrayBuffer();
    }
    assert.equal(validator.connections - opened, 1, 'thirty calls, one connection');
  });

  test('concurrent calls open at most as many connections as calls are in flight, then reuse them', async () => {
    const opened = validator.connections;
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => call(`good-c${round}-${i}-token`)));
      for (const res of answers) {
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
    }
    assert.ok(validator.connections - opened <= 8, `forty calls eight at a time opened ${validator.connections - opened} connections`);
  });

  test('a validator that answers 2 MiB: 503, the backend untouched, and the connection given up rather than read to its end', async () => {
    const before = backend.received.length;
    const res = await call('two-mib-0001-token');
    await assertGatewayError(res, 503, 'ValidationUnavailableError');
    assert.equal(backend.received.length, before);
    assert.equal(validator.calls.get('two-mib-0001-token'), 1, 'a failed call that was sent is never retried');
    const entry = validator.bigAnswer!;
    for (let i = 0; i < 100 && !entry.closed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(entry.closed, 'the connection of the oversized answer was closed');
  });

  test('a validator that never answers: 503 once the deadline passes, and the gateway closes the connection', async () => {
    const before = backend.received.length;
    const res = await call('never-0001-token');
    await assertGatewayError(res, 503, 'ValidationUnavailableError');
    assert.equal(backend.received.length, before);
    assert.equal(validator.unanswered.length, 1);
    const entry = validator.unanswered[0];
    for (let i = 0; i < 100 && !entry.closed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(entry.closed, 'the unanswered call was abandoned: its connection closed, never reused');
    // The next call gets its answer on a connection of its own.
    const good = await call('good-after-never-token');
    assert.equal(good.status, 200);
    await good.arrayBuffer();
  });
});
