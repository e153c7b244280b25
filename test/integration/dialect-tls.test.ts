/**
 * SPEC 7.4, TLS to the validator: `tls.ca` trusts a private CA; an untrusted server certificate, a
 * host name mismatch or a missing client certificate is unavailable (503), never valid, and the
 * validator's handler never sees the token; `tls.cert` + `tls.key` present a client certificate
 * (RFC 8705 tls_client_auth) that the server sees; the files are read when the configuration is
 * built (a reload reads them again), and a missing or wrong one is a problem naming its key.
 */
import assert from 'node:assert/strict';
import { copyFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { errorOf, headerBytes, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { makeTestPki, startHttpsServer, type TestHttpsServer, type TestPki } from '../fixtures/tls.js';

function answer(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const ok = (req.headers.authorization ?? '').startsWith('Bearer good');
  res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"uid":"u-tls"}' : '{}');
}

describe('TLS to the validator (SPEC 7.4)', () => {
  let pki: TestPki;
  let good: TestHttpsServer;
  let untrusted: TestHttpsServer;
  let wrongName: TestHttpsServer;
  let mtls: TestHttpsServer;
  let backend: SampleBackend;
  let gw: TestGateway;
  let caCopy: string;
  let document: Record<string, unknown>;

  before(async () => {
    pki = await makeTestPki();
    [good, untrusted, wrongName, mtls, backend] = await Promise.all([
      startHttpsServer({ ...pki.server, handler: answer }),
      startHttpsServer({ ...pki.untrusted, handler: answer }),
      startHttpsServer({ ...pki.wrongName, handler: answer }),
      startHttpsServer({ ...pki.server, ca: pki.caPem, requestCert: true, handler: answer }),
      startSampleBackend(),
    ]);
    caCopy = join(pki.dir, 'ca-copy.pem');
    await copyFile(pki.paths.caCert, caCopy);
    const ca = { ca: pki.paths.caCert };
    const noBreaker = { circuitBreaker: { failures: 0 } };
    const validators = {
      good: { url: `${good.url}/me`, tls: ca },
      reloaded: { url: `${good.url}/me`, tls: { ca: caCopy }, ...noBreaker },
      publicRoots: { url: `${good.url}/me`, ...noBreaker },
      untrusted: { url: `${untrusted.url}/me`, tls: ca, ...noBreaker },
      wrongName: { url: `${wrongName.url}/me`, tls: ca, ...noBreaker },
      mtls: { url: `${mtls.url}/me`, tls: { ca: pki.paths.caCert, cert: pki.paths.clientCert, key: pki.paths.clientKey } },
      mtlsWithoutCert: { url: `${mtls.url}/me`, tls: ca, ...noBreaker },
    };
    document = {
      validators,
      routes: Object.keys(validators).map((name) => ({ path: `/${name}`, upstream: backend.url, validator: name, identityHeaders: { 'X-User-Id': 'uid' } })),
    };
    gw = await startTestGateway(document);
  });
  after(async () => {
    await gw?.close();
    await Promise.all([good?.close(), untrusted?.close(), wrongName?.close(), mtls?.close(), backend?.close()]);
    await pki?.cleanup();
  });

  let n = 0;
  function call(path: string): Promise<Response> {
    return fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer good-${n++}` } });
  }

  test('a private CA in tls.ca: 200, the identity as usual', async () => {
    const res = await call('/good');
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.deepEqual(headerBytes(backend.received.at(-1)!.rawHeaders, 'x-user-id'), [Buffer.from('u-tls')]);
  });

  for (const [name, server, why] of [
    ['publicRoots', () => good, 'the private CA is not among the public roots'],
    ['untrusted', () => untrusted, 'a self-signed certificate'],
    ['wrongName', () => wrongName, 'a certificate for wrong.example'],
  ] as const) {
    test(`${why}: 503 validator_tls_failed, the handler never reached`, async () => {
      const before = server().requests;
      const res = await call(`/${name}`);
      assert.equal(res.status, 503);
      assert.equal(errorOf(await res.text()).type, 'ValidationUnavailableError');
      assert.equal(server().requests, before);
      assert.equal(gw.logs.requests().at(-1)!.reason, 'validator_tls_failed');
    });
  }

  test('mTLS: the server sees the client certificate subject (RFC 8705 tls_client_auth)', async () => {
    const res = await call('/mtls');
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.deepEqual(mtls.clientCertSubjects, [pki.clientSubject]);
  });

  test('mTLS without a client certificate: 503, never valid', async () => {
    const res = await call('/mtlsWithoutCert');
    assert.equal(res.status, 503);
    await res.arrayBuffer();
    assert.deepEqual(mtls.clientCertSubjects, [pki.clientSubject], 'no request with a certificate was added');
  });

  test('a reload reads the files again: another CA refuses the server, the right one trusts it again', async () => {
    assert.equal((await call('/reloaded')).status, 200);
    await copyFile(pki.paths.untrustedCert, caCopy);
    await gw.gateway.reload(buildConfig({ server: { host: '127.0.0.1', port: 0 }, ...document }, {}));
    assert.equal((await call('/reloaded')).status, 503);
    await copyFile(pki.paths.caCert, caCopy);
    await gw.gateway.reload(buildConfig({ server: { host: '127.0.0.1', port: 0 }, ...document }, {}));
    assert.equal((await call('/reloaded')).status, 200);
  });

  describe('configuration problems name the key', () => {
    function problems(tls: Record<string, unknown>): string[] {
      try {
        buildConfig({ validators: { v: { url: `${good.url}/me`, tls } }, routes: [{ path: '/', upstream: backend.url }] }, {});
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error.problems.map((p) => `${p.path}: ${p.message}`);
      }
      return [];
    }

    test('a missing file', () => {
      const missing = join(pki.dir, 'nope.pem');
      assert.deepEqual(problems({ ca: missing }), [`validators.v.tls.ca: cannot read ${missing} (ENOENT)`]);
      assert.deepEqual(problems({ cert: pki.paths.clientCert, key: missing }), [`validators.v.tls.key: cannot read ${missing} (ENOENT)`]);
    });

    test('a directory, and a file that holds no certificate', async () => {
      const junk = join(pki.dir, 'junk.pem');
      await writeFile(junk, 'not a certificate\n');
      assert.match(problems({ ca: pki.dir })[0], /^validators\.v\.tls\.ca: cannot read .* \(EISDIR\)$/);
      assert.deepEqual(problems({ ca: junk }), [`validators.v.tls.ca: ${junk} holds no PEM certificate`]);
    });

    test('cert without key, key without cert, a key that is not the certificate\'s', () => {
      assert.deepEqual(problems({ cert: pki.paths.clientCert }), ['validators.v.tls.key: is required with tls.cert (mTLS, RFC 8705)']);
      assert.deepEqual(problems({ key: pki.paths.clientKey }), ['validators.v.tls.cert: is required with tls.key (mTLS, RFC 8705)']);
      assert.deepEqual(problems({ cert: pki.paths.clientCert, key: pki.paths.serverKey }), [`validators.v.tls.key: is not the private key of ${pki.paths.clientCert}`]);
    });

    test('tls on an http URL has no effect: a problem', () => {
      assert.throws(
        () => buildConfig({ validators: { v: { url: 'http://127.0.0.1:1/me', tls: { ca: pki.paths.caCert } } }, routes: [{ path: '/', upstream: backend.url }] }, {}),
        (error: unknown) => error instanceof ConfigError && error.problems[0].path === 'validators.v.tls',
      );
    });
  });
});
