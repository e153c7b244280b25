/**
 * Finding (identity forgery, client address and host): the gateway replaces X-Forwarded-Proto and
 * X-Forwarded-Host and appends to X-Forwarded-For, but the other headers that name the client or
 * the original host pass as the client wrote them:
 *
 * - `Forwarded` (RFC 7239: for=, host=, proto=): Spring's ForwardedHeaderFilter, Tomcat's
 *   RemoteIpValve-style filters, Rails and Django middlewares read it;
 * - `X-Real-IP` and `True-Client-IP`: chi's middleware.RealIP reads them before X-Forwarded-For,
 *   and nginx-style setups log and rate-limit by X-Real-IP;
 * - `X-Forwarded-Port`, `X-Forwarded-Server`, `X-Forwarded-Prefix`: used to build absolute URLs;
 * - `X_Forwarded_For` / `X_Forwarded_Host`: CGI-style servers (the gateway's own
 *   canonicalHeaderName rule) read them as HTTP_X_FORWARDED_FOR / HTTP_X_FORWARDED_HOST, next to
 *   the gateway's own value; which one wins depends on the server.
 *
 * A backend that trusts the gateway as its only proxy then takes a client-chosen address for the
 * caller (allow-lists, audit logs, per-IP limits) and a client-chosen host for absolute URLs
 * (password-reset links). Reproduction: `GET /public/x` with `Forwarded: for=6.6.6.6;host=evil.example`
 * and `X-Real-IP: 6.6.6.6`: both reach the backend unchanged.
 *
 * Fixed when: every header that names the client, host, port, proto or prefix is removed (in every
 * spelling) or replaced by the gateway's own values. Fixed: these tests passed once the fix landed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { headerBytes, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { hostOf } from './support.js';

describe('finding: forwarding headers the gateway does not set pass through', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  before(async () => {
    seed = await startSeedEndpoint();
    backend = await startSampleBackend();
    gw = await startTestGateway({ validators: { v: { url: seed.validationUrl } }, routes: [{ path: '/public', upstream: backend.url, auth: 'none' }] });
  });
  after(async () => {
    await gw.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  let serial = 0;
  for (const [name, value] of [
    ['Forwarded', 'for=6.6.6.6;host=evil.example;proto=https'],
    ['X-Real-IP', '6.6.6.6'],
    ['True-Client-IP', '6.6.6.6'],
    ['X-Forwarded-Port', '1'],
    ['X-Forwarded-Server', 'evil.example'],
    ['X-Forwarded-Prefix', '/evil'],
    ['X_Forwarded_For', '6.6.6.6'],
    ['X_Forwarded_Host', 'evil.example'],
  ] as const) {
    test(`"${name}: ${value}" does not reach the backend as the client wrote it`, async () => {
      const path = `/public/r${++serial}`;
      const res = await rawRequest(gw.url, `GET ${path} HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\n${name}: ${value}`);
      assert.equal(res.status, 200);
      const got = backend.received.find((r) => r.url === path)!;
      const values = headerBytes(got.rawHeaders, name).map((b) => b.toString('latin1'));
      assert.equal(values.includes(value), false, `${name}: ${value} forwarded`);
    });
  }

  test('control: X-Forwarded-Host and X-Forwarded-Proto are the gateway\'s, X-Forwarded-For ends with the socket address', async () => {
    const path = `/public/r${++serial}`;
    await rawRequest(gw.url, `GET ${path} HTTP/1.1\r\nhost: ${hostOf(gw.url)}\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 6.6.6.6`);
    const got = backend.received.find((r) => r.url === path)!;
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-forwarded-host'), [Buffer.from(hostOf(gw.url))]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-forwarded-proto'), [Buffer.from('http')]);
    assert.deepEqual(headerBytes(got.rawHeaders, 'x-forwarded-for'), [Buffer.from('6.6.6.6, 127.0.0.1')]);
  });
});
