/**
 * Inbound headers ("remove before you add", SPEC section 5), the backend's response headers, and
 * form/query parameters read and removed without touching the other bytes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rawHeader, readInboundHeaders, removePair, responseHeaders } from '../../src/http/request-headers.js';
import { mayContainParam, paramValues, removeParam } from '../../src/http/urlencoded.js';

const NO_IDENTITY: ReadonlySet<string> = new Set();

/** Pairs of a flat list, for readable assertions. */
function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

function flat(list: [string, string][]): string[] {
  return list.flatMap(([name, value]) => [name, value]);
}

describe('readInboundHeaders: hop-by-hop headers', () => {
  const hopByHop = ['Connection', 'Keep-Alive', 'TE', 'Trailer', 'Transfer-Encoding', 'Upgrade', 'Proxy-Authorization', 'Proxy-Connection'];
  for (const name of hopByHop) {
    test(`${name} is not forwarded`, () => {
      const value = name === 'Connection' ? 'keep-alive' : 'x';
      const inbound = readInboundHeaders(flat([['Accept', '*/*'], [name, value], ['X-After', '1']]), NO_IDENTITY);
      assert.deepEqual(pairs(inbound.forward), [['Accept', '*/*'], ['X-After', '1']]);
    });
    test(`${name.toLowerCase()} in lower case is not forwarded`, () => {
      const inbound = readInboundHeaders([name.toLowerCase(), 'close'], NO_IDENTITY);
      assert.deepEqual(inbound.forward, []);
    });
  }

  test('Transfer-Encoding marks the request chunked', () => {
    assert.equal(readInboundHeaders(['Transfer-Encoding', 'chunked'], NO_IDENTITY).chunked, true);
    assert.equal(readInboundHeaders(['Content-Length', '3'], NO_IDENTITY).chunked, false);
  });

  test('headers named in Connection are removed too (Connection: close, X-Secret)', () => {
    const inbound = readInboundHeaders(
      flat([['Host', 'gw'], ['X-Secret', 's'], ['Connection', 'close, X-Secret'], ['Accept', '*/*'], ['x-secret', 's2']]),
      NO_IDENTITY,
    );
    assert.deepEqual(pairs(inbound.forward), [['Accept', '*/*']]);
  });
  test('several Connection headers are combined', () => {
    const inbound = readInboundHeaders(flat([['Connection', 'X-A'], ['X-A', '1'], ['X-B', '2'], ['Connection', 'x-b'], ['X-C', '3']]), NO_IDENTITY);
    assert.deepEqual(pairs(inbound.forward), [['X-C', '3']]);
  });
  test('Connection: keep-alive alone removes nothing else', () => {
    const inbound = readInboundHeaders(flat([['Connection', 'Keep-Alive'], ['X-Keep', '1'], ['Close', 'x']]), NO_IDENTITY);
    assert.deepEqual(pairs(inbound.forward), [['X-Keep', '1'], ['Close', 'x']]);
  });
  test('removal through Connection keeps the Authorization and Content-Length indexes right', () => {
    const inbound = readInboundHeaders(
      flat([['X-Drop', '1'], ['Authorization', 'Bearer abc'], ['X-Drop2', '2'], ['Content-Length', '5'], ['Connection', 'x-drop, X-Drop2']]),
      NO_IDENTITY,
    );
    assert.deepEqual(pairs(inbound.forward), [['Authorization', 'Bearer abc'], ['Content-Length', '5']]);
    assert.equal(inbound.authorizationAt, 0);
    assert.equal(inbound.contentLengthAt, 2);
    assert.equal(inbound.forward[inbound.authorizationAt], 'Authorization');
    assert.equal(inbound.forward[inbound.contentLengthAt + 1], '5');
  });
});

describe('readInboundHeaders: identity headers', () => {
  const identity: ReadonlySet<string> = new Set(['x-user-id', 'x-user-email']);
  test('every incoming copy is removed, whatever its case', () => {
    const inbound = readInboundHeaders(
      flat([['X-User-Id', 'forged'], ['x-user-id', 'forged2'], ['X-USER-EMAIL', 'a@b'], ['x-UsEr-EmAiL', 'c@d'], ['X-User-Name', 'kept']]),
      identity,
    );
    assert.deepEqual(pairs(inbound.forward), [['X-User-Name', 'kept']]);
  });
  test('a removed identity header does not shift the Authorization index', () => {
    const inbound = readInboundHeaders(flat([['X-User-Id', 'forged'], ['Authorization', 'Bearer t']]), identity);
    assert.deepEqual(pairs(inbound.forward), [['Authorization', 'Bearer t']]);
    assert.equal(inbound.authorizationAt, 0);
  });
});

describe('readInboundHeaders: what later stages need', () => {
  test('Host and X-Forwarded-* are not forwarded; Host and X-Forwarded-For are recorded', () => {
    const inbound = readInboundHeaders(
      flat([['Host', 'api.example'], ['X-Forwarded-For', '10.0.0.1'], ['X-Forwarded-Proto', 'http'], ['X-Forwarded-Host', 'evil'], ['x-forwarded-for', '10.0.0.2'], ['Accept', '*/*']]),
      NO_IDENTITY,
    );
    assert.deepEqual(pairs(inbound.forward), [['Accept', '*/*']]);
    assert.equal(inbound.host, 'api.example');
    assert.equal(inbound.forwardedFor, '10.0.0.1, 10.0.0.2');
  });
  test('Expect is not forwarded', () => {
    assert.deepEqual(readInboundHeaders(['Expect', '100-continue'], NO_IDENTITY).forward, []);
  });
  test('Authorization is forwarded, counted, and its first index recorded', () => {
    const inbound = readInboundHeaders(flat([['Accept', '*/*'], ['Authorization', 'Bearer one'], ['X-Mid', 'm'], ['authorization', 'Bearer two']]), NO_IDENTITY);
    assert.equal(inbound.authorization, 'Bearer one');
    assert.equal(inbound.authorizationCount, 2);
    assert.equal(inbound.authorizationAt, 2);
    assert.deepEqual(pairs(inbound.forward), [['Accept', '*/*'], ['Authorization', 'Bearer one'], ['X-Mid', 'm'], ['authorization', 'Bearer two']]);
  });
  test('no Authorization: undefined, count 0, index -1', () => {
    const inbound = readInboundHeaders(['Accept', '*/*'], NO_IDENTITY);
    assert.equal(inbound.authorization, undefined);
    assert.equal(inbound.authorizationCount, 0);
    assert.equal(inbound.authorizationAt, -1);
    assert.equal(inbound.contentLengthAt, -1);
  });
  test('Content-Type, Content-Length (with index) are recorded and forwarded; X-Request-Id is recorded, the gateway sets its own', () => {
    const inbound = readInboundHeaders(
      flat([['Host', 'h'], ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', '17'], ['X-Request-Id', 'req-1']]),
      NO_IDENTITY,
    );
    assert.equal(inbound.contentType, 'application/x-www-form-urlencoded');
    assert.equal(inbound.contentLength, '17');
    assert.equal(inbound.contentLengthAt, 2);
    assert.equal(inbound.forward[inbound.contentLengthAt], 'Content-Length');
    assert.equal(inbound.requestId, 'req-1');
    assert.deepEqual(pairs(inbound.forward), [['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', '17']]);
  });
  test('original case and order are kept', () => {
    const raw = flat([['x-LoWeR', 'a'], ['X-Upper', 'b'], ['x-lower', 'c']]);
    assert.deepEqual(readInboundHeaders(raw, NO_IDENTITY).forward, raw);
  });
});

describe('removePair and rawHeader', () => {
  test('removePair removes the name and its value', () => {
    const list = ['A', '1', 'Authorization', 'Bearer x', 'B', '2'];
    removePair(list, 2);
    assert.deepEqual(list, ['A', '1', 'B', '2']);
  });
  test('removePair(-1) does nothing', () => {
    const list = ['A', '1'];
    removePair(list, -1);
    assert.deepEqual(list, ['A', '1']);
  });
  test('rawHeader finds the first value, case-insensitively', () => {
    const raw = ['X-Region', 'fr', 'x-region', 'ch'];
    assert.equal(rawHeader(raw, 'x-region'), 'fr');
    assert.equal(rawHeader(raw, 'x-regio'), undefined);
    assert.equal(rawHeader(raw, 'x-other'), undefined);
  });
});

describe('responseHeaders', () => {
  /** The backend's headers, and the X-Request-Id the gateway adds when the backend set none. */
  const RID = 'rid-1';
  const withId = (list: [string, string][]) => [...list, ['x-request-id', RID]];
  const buffers = (list: [string, string | Buffer][]): Buffer[] => list.flatMap(([n, v]) => [Buffer.from(n, 'latin1'), Buffer.isBuffer(v) ? v : Buffer.from(v, 'latin1')]);

  test('drops hop-by-hop headers', () => {
    const out = responseHeaders(buffers([['Content-Type', 'text/plain'], ['Connection', 'keep-alive'], ['Keep-Alive', 'timeout=5'], ['Transfer-Encoding', 'chunked'], ['Upgrade', 'h2c'], ['Trailer', 'X-T'], ['TE', 'trailers'], ['Proxy-Authenticate', 'Basic'], ['Proxy-Connection', 'x'], ['X-Kept', '1']]), RID);
    assert.deepEqual(pairs(out), withId([['Content-Type', 'text/plain'], ['X-Kept', '1']]));
  });
  test('drops headers named in Connection', () => {
    const out = responseHeaders(buffers([['X-Internal', 'secret'], ['Connection', 'close, x-internal'], ['X-Public', 'p']]), RID);
    assert.deepEqual(pairs(out), withId([['X-Public', 'p']]));
  });
  test('drops headers named in every Connection header (RFC 9110 §7.6.1)', () => {
    const out = responseHeaders(buffers([['Connection', 'X-A'], ['X-A', '1'], ['Connection', 'X-B'], ['X-B', '2'], ['X-C', '3']]), RID);
    assert.deepEqual(pairs(out), withId([['X-C', '3']]));
  });
  test('keeps latin1 bytes: UTF-8 bytes pass through unchanged', () => {
    const out = responseHeaders(buffers([['X-Name', Buffer.from('öhlundi', 'utf8')], ['Set-Cookie', 'a=1'], ['set-cookie', 'b=2']]), RID);
    assert.deepEqual(pairs(out), withId([['X-Name', 'Ã¶hlundi'], ['Set-Cookie', 'a=1'], ['set-cookie', 'b=2']]));
    assert.deepEqual(Buffer.from(out[1], 'latin1'), Buffer.from('öhlundi', 'utf8'));
  });
  test('a latin1 byte 0xE9 stays one byte', () => {
    const out = responseHeaders(buffers([['X-L', Buffer.from([0x63, 0x61, 0x66, 0xe9])]]), RID);
    assert.deepEqual(Buffer.from(out[1], 'latin1'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  });
  test('keeps names in their original case', () => {
    assert.deepEqual(responseHeaders(buffers([['X-MiXeD', 'v']]), RID), ['X-MiXeD', 'v', 'x-request-id', RID]);
  });
  test("the backend's own X-Request-Id is kept, and no second one added", () => {
    assert.deepEqual(responseHeaders(buffers([['X-Request-Id', 'backend-7']]), RID), ['X-Request-Id', 'backend-7']);
  });
});

describe('urlencoded: removeParam', () => {
  const cases: [string, string][] = [
    ['a=%20&access_token=x&b=c+d', 'a=%20&b=c+d'],
    ['access_token=x', ''],
    ['access_token=x&a=1', 'a=1'],
    ['a=1&access_token=x', 'a=1'],
    ['a=1&access%5Ftoken=x&b=2', 'a=1&b=2'],
    ['a=1&access_token&b=2', 'a=1&b=2'],
    ['access_token=x&access_token=y&z=%2F%2f', 'z=%2F%2f'],
    ['a=1&b=2', 'a=1&b=2'],
    ['', ''],
    ['a=%ZZ&access_token=x&b=%E2%82%AC', 'a=%ZZ&b=%E2%82%AC'],
    ['access_tokens=x&xaccess_token=y', 'access_tokens=x&xaccess_token=y'],
    ['a=1&&b=2&access_token=x', 'a=1&&b=2'],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(removeParam(input, 'access_token'), expected);
    });
  }
});

describe('urlencoded: paramValues', () => {
  const cases: [string, (string | null)[]][] = [
    ['a=%20&access_token=x&b=c+d', ['x']],
    ['access_token=a%2Bb', ['a+b']],
    ['access_token=c+d', ['c d']],
    ['access_token=%C3%B6', ['ö']],
    ['access_token=x&access_token=y', ['x', 'y']],
    ['access_token', ['']],
    ['access_token=', ['']],
    ['access_token=%ZZ', [null]],
    ['access%5Ftoken=z', ['z']],
    ['a=1', []],
    ['', []],
    ['access_token=a=b', ['a=b']],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(paramValues(input, 'access_token'), expected);
    });
  }
  test('other names decode too', () => {
    assert.deepEqual(paramValues('a=%20&b=c+d', 'b'), ['c d']);
    assert.deepEqual(paramValues('a=%20&b=c+d', 'a'), [' ']);
  });
  test('mayContainParam is a cheap superset check', () => {
    assert.equal(mayContainParam('', 'access_token'), false);
    assert.equal(mayContainParam('a=1', 'access_token'), false);
    assert.equal(mayContainParam('access_token=1', 'access_token'), true);
    assert.equal(mayContainParam('a=%20', 'access_token'), true);
  });
});
