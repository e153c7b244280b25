/**
 * Finding (integrity, "a refusal closes the connection"): when a refusal is answered while the body
 * is still arriving, the gateway sends `Connection: close`, but Node goes on parsing what is already
 * in the socket buffer: a request pipelined after that body is routed, judged and forwarded to the
 * backend, and its answer is thrown away. The backend executes a request whose client is told (by
 * the close) that it was never processed (RFC 9112 section 9.6: a server that sends "close" must not
 * process further requests on that connection). A client or a front proxy that retries it on a new
 * connection has it executed twice; a non-idempotent POST runs twice.
 *
 * Reproduction: one write of `POST /api/x` (no token, Content-Length: N, N bytes) followed by
 * `DELETE /public/items/7`: the client gets one answer (401, Connection: close), the backend gets
 * the DELETE whenever the upstream pool has a connection ready (the usual state; on a cold pool the
 * close usually wins the race). A pipelined request with a body of its own is usually cut off
 * mid-body by the close, so the backend sees it begin but not end.
 *
 * Fixed when: after a refusal with `Connection: close`, nothing more from that connection reaches the
 * backend (stop reading: destroy the socket after the answer is flushed, or refuse further requests).
 * Fixed: this test passed once the fix landed.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { hostOf } from './support.js';

function exchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => socket.destroy(), 3_000);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.write(bytes, 'latin1');
    setTimeout(() => socket.end(), 300);
  });
}

describe('finding: requests pipelined after a refusal that closes the connection are still executed', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  before(async () => {
    seed = await startSeedEndpoint();
    backend = await startSampleBackend();
    gw = await startTestGateway({
      validators: { v: { url: seed.validationUrl } },
      routes: [
        { path: '/api', upstream: backend.url },
        { path: '/public', upstream: backend.url, auth: 'none' },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  test('after "401, Connection: close", the next pipelined request never reaches the backend', async () => {
    const host = `host: ${hostOf(gw.url)}`;
    // A warm upstream connection, as in production: the pipelined request is forwarded at once.
    assert.match(await exchange(gw.url, `GET /public/warm HTTP/1.1\r\n${host}\r\nconnection: close\r\n\r\n`), /^HTTP\/1\.1 200 /);
    const text = await exchange(gw.url, `POST /api/x HTTP/1.1\r\n${host}\r\ncontent-length: 5\r\n\r\nhelloDELETE /public/items/7 HTTP/1.1\r\n${host}\r\n\r\n`);
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [401], 'the client gets one answer');
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.deepEqual(backend.received.filter((r) => r.url === '/public/items/7').map((r) => r.url), [], 'executed without an answer to its client');
  });
});
