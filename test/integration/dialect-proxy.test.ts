/**
 * SPEC 7.4, outbound proxy: `proxy: http://user:${PASS}@host:port` reaches an HTTPS validator
 * through a CONNECT tunnel with Proxy-Authorization (Basic), and the password is in no log line and
 * no error message; a dead or refusing proxy (ECONNREFUSED, 407, a 502 to CONNECT) makes the
 * validator unavailable (503) and the validator is never called around it; HTTPS_PROXY in the
 * environment changes nothing unless a validator says `proxy: env`.
 */
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { deadProxyUrl, startConnectProxy, type ConnectProxy } from '../fixtures/connect-proxy.js';
import { errorOf, headerBytes, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { freePort } from '../fixtures/ports.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';
import { makeTestPki, startHttpsServer, type TestHttpsServer, type TestPki } from '../fixtures/tls.js';

const GOOD = 'proxy-good-token';
const USER = 'gw-proxy-user';
const PASSWORD = 'Pr0xy-Pa55-w0rd-7f3a';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

describe('outbound proxy (SPEC 7.4)', () => {
  let pki: TestPki;
  let validator: TestHttpsServer;
  let proxy: ConnectProxy;
  let envProxy: ConnectProxy;
  let backend: SampleBackend;
  let plain: SeedEndpoint;
  let gw: TestGateway;
  /** A proxy that answers every CONNECT with 503 (and counts them). */
  let failing: TcpServer;
  let failingConnects = 0;
  const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, HTTP_PROXY: process.env.HTTP_PROXY, https_proxy: process.env.https_proxy, http_proxy: process.env.http_proxy, NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };

  before(async () => {
    pki = await makeTestPki();
    validator = await startHttpsServer({
      ...pki.server,
      handler: (req, res) => {
        req.resume();
        const ok = req.headers.authorization === `Bearer ${GOOD}`;
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? JSON.stringify({ uid: 'u-1', lastName: 'öhlundi' }) : '{}');
      },
    });
    proxy = await startConnectProxy({ auth: { user: USER, pass: PASSWORD } });
    envProxy = await startConnectProxy();
    backend = await startSampleBackend();
    plain = await startSeedEndpoint({ users: new Map([[GOOD, { uid: 'u-http' }]]) });
    failing = createTcpServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.on('data', (chunk: Buffer) => {
        if (!chunk.toString('latin1').includes('\r\n\r\n')) return;
        failingConnects++;
        socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nconnection: close\r\n\r\nbusy\n');
      });
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    // A stray proxy in the environment: only `proxy: env` may follow it.
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy']) process.env[name] = envProxy.url;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;

    const hostPort = new URL(proxy.url).host;
    const tls = { ca: pki.paths.caCert };
    const url = `${validator.url}/userinfo`;
    const route = (path: string, name: string) => ({ path, upstream: backend.url, validator: name, identityHeaders: { 'X-User-Id': 'uid', 'X-User-Last-Name': 'lastName' } });
    gw = await startTestGateway(
      {
        validators: {
          proxied: { url, tls, proxy: `http://${USER}:\${PROXY_PASSWORD}@${hostPort}` },
          dead: { url, tls, proxy: await deadProxyUrl(), circuitBreaker: { failures: 0 } },
          refused: { url, tls, proxy: `http://${USER}:wrong-${PASSWORD.slice(0, 4)}@${hostPort}`, circuitBreaker: { failures: 0 } },
          badTarget: { url: `https://127.0.0.1:${await freePort()}/userinfo`, tls, proxy: `http://${USER}:\${PROXY_PASSWORD}@${hostPort}`, circuitBreaker: { failures: 0 } },
          busy: { url, tls, proxy: `http://127.0.0.1:${(failing.address() as AddressInfo).port}`, circuitBreaker: { failures: 0 } },
          plainHttp: { url: plain.validationUrl, proxy: `http://${USER}:\${PROXY_PASSWORD}@${hostPort}` },
          direct: { url, tls },
          env: { url, tls, proxy: 'env' },
        },
        routes: [route('/proxied', 'proxied'), route('/dead', 'dead'), route('/refused', 'refused'), route('/bad-target', 'badTarget'), route('/busy', 'busy'), route('/plain-http', 'plainHttp'), route('/direct', 'direct'), route('/env', 'env')],
      },
      { PROXY_PASSWORD: PASSWORD },
    );
  });
  after(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await gw?.close();
    await Promise.all([validator?.close(), proxy?.close(), envProxy?.close(), backend?.close(), plain?.close(), new Promise<void>((resolve) => (failing === undefined ? resolve() : failing.close(() => resolve())))]);
    await pki?.cleanup();
  });

  function call(path: string, token = GOOD): Promise<Response> {
    return fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  }

  test('through the proxy: one CONNECT tunnel (kept alive), Proxy-Authorization Basic, the identity as usual', async () => {
    const before = validator.requests;
    for (const token of [GOOD, 'another-token']) {
      const res = await call('/proxied', token);
      assert.equal(res.status, token === GOOD ? 200 : 401);
      await res.arrayBuffer();
    }
    assert.equal(validator.requests, before + 2);
    assert.equal(proxy.tunnels, 1, 'the second call reuses the tunnel');
    assert.deepEqual(proxy.connectTargets, [`127.0.0.1:${validator.port}`]);
    assert.deepEqual(proxy.authSeen, [BASIC]);
    assert.deepEqual(headerBytes(backend.received.at(-1)!.rawHeaders, 'x-user-last-name'), [Buffer.from('öhlundi')]);
  });

  test('an http validator through the proxy: an absolute-form request (no tunnel), with Proxy-Authorization', async () => {
    const before = { tunnels: proxy.tunnels, requests: proxy.requests, auth: proxy.authSeen.length };
    const res = await call('/plain-http');
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(proxy.requests, before.requests + 1);
    assert.equal(proxy.tunnels, before.tunnels);
    assert.deepEqual(proxy.authSeen.slice(before.auth), [BASIC]);
    assert.equal(plain.calls.get(GOOD), 1);
    assert.deepEqual(headerBytes(backend.received.at(-1)!.rawHeaders, 'x-user-id'), [Buffer.from('u-http')]);
  });

  test('a dead proxy: 503, and the validator is never called around it', async () => {
    const before = validator.requests;
    const res = await call('/dead');
    assert.equal(res.status, 503);
    assert.equal(errorOf(await res.text()).type, 'ValidationUnavailableError');
    assert.equal(validator.requests, before, 'no direct call to the validator');
    assert.equal(gw.logs.requests().at(-1)!.reason, 'validator_proxy_failed');
  });

  test('a refusing proxy (407): 503, no tunnel, the validator never called', async () => {
    const before = { requests: validator.requests, tunnels: proxy.tunnels, rejected: proxy.rejected };
    const res = await call('/refused');
    assert.equal(res.status, 503);
    await res.arrayBuffer();
    assert.equal(validator.requests, before.requests);
    assert.equal(proxy.tunnels, before.tunnels);
    assert.equal(proxy.rejected, before.rejected + 1);
    assert.equal(gw.logs.requests().at(-1)!.reason, 'validator_proxy_failed');
  });

  test('a proxy that cannot reach the validator (and hangs up on CONNECT): 503, at once', async () => {
    const started = performance.now();
    const res = await call('/bad-target');
    assert.equal(res.status, 503);
    await res.arrayBuffer();
    assert.equal(gw.logs.requests().at(-1)!.reason, 'validator_proxy_failed');
    assert.ok(performance.now() - started < 1000, 'no reconnect loop, no wait for the deadline');
  });

  test('a proxy answering 503 to CONNECT: 503, the validator never called', async () => {
    const before = { requests: validator.requests, connects: failingConnects };
    const res = await call('/busy');
    assert.equal(res.status, 503);
    await res.arrayBuffer();
    assert.equal(failingConnects, before.connects + 1);
    assert.equal(validator.requests, before.requests);
    assert.equal(gw.logs.requests().at(-1)!.reason, 'validator_proxy_failed');
  });

  test('HTTPS_PROXY in the environment but no proxy key: direct, the proxy sees nothing', async () => {
    const before = { tunnels: envProxy.tunnels, targets: envProxy.connectTargets.length, requests: validator.requests };
    const res = await call('/direct');
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(validator.requests, before.requests + 1);
    assert.equal(envProxy.tunnels, before.tunnels);
    assert.equal(envProxy.connectTargets.length, before.targets);
  });

  test('proxy: env follows HTTPS_PROXY', async () => {
    const before = envProxy.tunnels;
    const res = await call('/env');
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(envProxy.tunnels, before + 1);
  });

  test('the password is in no log line (warnings about the refusals included)', () => {
    const text = gw.logs.text();
    assert.ok(text.includes('validator unavailable'), 'the refusals were logged');
    for (const secret of [PASSWORD, BASIC, Buffer.from(`${USER}:${PASSWORD}`).toString('base64'), `wrong-${PASSWORD.slice(0, 4)}`]) {
      assert.ok(!text.includes(secret), `a log line carries ${secret}`);
    }
  });

  test('the password is in no configuration error message', () => {
    for (const value of [`ftp://${USER}:${PASSWORD}@127.0.0.1:3128`, `http://${USER}:${PASSWORD}@127.0.0.1:3128/path`, `http://:${PASSWORD}@127.0.0.1:3128`]) {
      try {
        buildConfig({ validators: { v: { url: 'https://as.example/i', proxy: value } }, routes: [{ path: '/', upstream: 'http://127.0.0.1:1' }] }, {});
        assert.fail(`accepted ${value}`);
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.problems[0].path, 'validators.v.proxy');
        assert.ok(!error.message.includes(PASSWORD), error.message);
      }
    }
  });
});
