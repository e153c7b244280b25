/** The way out to a validator (SPEC 7.4): proxy URLs taken apart once, and proxy / TLS failures told apart from the validator's. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { compileProxy, outboundFailure } from '../../src/validators/outbound.js';

function validator(v: Record<string, unknown>) {
  return buildConfig({ validators: { v: { url: 'https://as.example/i', ...v } }, routes: [{ path: '/', upstream: 'http://127.0.0.1:1' }] }, {}).validators.get('v')!;
}
const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('compileProxy', () => {
  test('credentials leave the URL and become Basic (RFC 7617), percent-decoded', () => {
    assert.deepEqual(compileProxy('http://us%20er:p%40ss@proxy.internal:3128'), { uri: 'http://proxy.internal:3128', authorization: `Basic ${Buffer.from('us er:p@ss').toString('base64')}` });
    assert.deepEqual(compileProxy('https://proxy.internal'), { uri: 'https://proxy.internal', authorization: null });
    assert.equal(compileProxy('env'), 'env');
    assert.equal(compileProxy(undefined), null);
  });
});

describe('outboundFailure', () => {
  const direct = validator({});
  const proxied = validator({ proxy: 'http://gw:secret@proxy.internal:3128' });
  const env = validator({ proxy: 'env' });

  for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED']) {
    test(`${code}: validator_tls_failed, direct or not`, () => {
      assert.equal(outboundFailure(coded(code), direct)?.reason, 'validator_tls_failed');
      assert.equal(outboundFailure(new Error('wrapped', { cause: coded(code) }), proxied)?.reason, 'validator_tls_failed');
    });
  }

  test('a refused tunnel or request (407, 5xx): validator_proxy_failed, the message names only the status', () => {
    const refused = outboundFailure(coded('UND_ERR_ABORTED', 'Proxy response (407) !== 200 when HTTP Tunneling'), proxied);
    assert.deepEqual(refused, { reason: 'validator_proxy_failed', message: 'the proxy refused the call (407)' });
    assert.equal(outboundFailure(coded('UND_ERR_INVALID_ARG', 'Proxy Authentication Required (407)'), env)?.reason, 'validator_proxy_failed');
  });

  test('a proxy that cannot be reached: validator_proxy_failed; without a proxy, the validator is unreachable (not ours)', () => {
    assert.equal(outboundFailure(coded('ECONNREFUSED'), proxied)?.reason, 'validator_proxy_failed');
    assert.equal(outboundFailure(coded('TOKENGATE_CONNECT_FAILED'), proxied)?.reason, 'validator_proxy_failed');
    assert.equal(outboundFailure(coded('ECONNREFUSED'), direct), null);
    assert.equal(outboundFailure(coded('ECONNREFUSED'), env), null, 'proxy: env may go direct (NO_PROXY)');
    assert.equal(outboundFailure(coded('UND_ERR_HEADERS_TIMEOUT'), proxied), null);
  });
});
