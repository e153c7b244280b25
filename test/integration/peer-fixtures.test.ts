/**
 * SPEC section 7.1 (forward-auth), measured against the real peers: nginx `auth_request` and Caddy
 * `forward_auth` in front of a stub decision endpoint that answers as tokengate's would, and a stub
 * backend that records the raw headers it receives. Proves the fixtures (test/fixtures/nginx.ts,
 * caddy.ts) and the configurations they build: identity headers copied byte-exact and only when
 * present, client-forged copies never passing, the question carrying the real original URI and
 * method, and every denial reaching the client exactly as the decision endpoint answered it.
 *
 * Skipped with a notice when a peer is not installed, unless TOKENGATE_REQUIRE_PEERS is set.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort, listenLocal } from '../fixtures/ports.js';
import { nginxAuthRequestConfig, nginxPlainAuthRequestConfig, skipWithoutNginx, startNginx, type ForwardAuthPeerOptions, type NginxServer } from '../fixtures/nginx.js';
import { caddyForwardAuthConfig, caddyPlainForwardAuthConfig, caddyVersion, skipWithoutCaddy, startCaddy, type CaddyServer } from '../fixtures/caddy.js';

const DECISION_PATH = '/_tokengate/auth';
const IDENTITY = ['X-User-Id', 'X-User-Email'];
const EMAIL = 'öhlundi@example.com';

// ---------------------------------------------------------------------------------------------
// Stubs

/** Header bytes as they go on the wire: Node writes a header string one byte per char (latin1). */
const utf8OnWire = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const fromWire = (s: string) => Buffer.from(s, 'latin1').toString('utf8');

interface Seen {
  readonly method: string;
  readonly url: string;
  /** Values decoded from their wire bytes as UTF-8. */
  readonly rawHeaders: readonly string[];
  readonly body: string;
  readonly socket: number;
}

interface Stub {
  readonly url: string;
  readonly hostPort: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/** Each denial as tokengate answers it (SPEC section 4 / 7.1). */
const DENIALS: Record<string, { status: number; type: string; error?: string; challenge?: string; extra?: Record<string, string> }> = {
  'tok-invalid': { status: 401, type: 'InvalidTokenError', error: 'invalid_token' },
  'tok-missing': { status: 401, type: 'MissingTokenError', challenge: 'Bearer realm="tokengate"' },
  'tok-scope': { status: 403, type: 'InsufficientScopeError', error: 'insufficient_scope' },
  'tok-malformed': { status: 400, type: 'MalformedTokenError', error: 'invalid_request' },
  'tok-down': { status: 503, type: 'ValidatorUnavailableError', extra: { 'retry-after': '7' } },
  'tok-noroute': { status: 404, type: 'NoRouteError' },
  'tok-method': { status: 405, type: 'MethodNotAllowedError', extra: { allow: 'GET, HEAD' } },
};

/** Allowed tokens and the identity headers the answer carries. */
const ALLOWED: Record<string, Record<string, string>> = {
  'tok-full': { 'X-User-Id': 'u-1', 'X-User-Email': EMAIL },
  'tok-noemail': { 'X-User-Id': 'u-2' },
};

function recorder(handler: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void): Promise<Stub> {
  const seen: Seen[] = [];
  const sockets = new WeakMap<Socket, number>();
  let nextSocket = 0;
  const server: Server = createServer((req, res) => {
    let id = sockets.get(req.socket);
    if (id === undefined) {
      id = ++nextSocket;
      sockets.set(req.socket, id);
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders.map((v, i) => (i % 2 === 1 ? fromWire(v) : v)),
        body: Buffer.concat(chunks).toString('utf8'),
        socket: id,
      };
      seen.push(entry);
      handler(req, res, entry);
    });
  });
  server.keepAliveTimeout = 30_000;
  return listenLocal(server).then((url) => ({
    url,
    hostPort: url.slice('http://'.length),
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }));
}

/** The stub decision endpoint: the token alone decides. */
function startDecision(): Promise<Stub> {
  return recorder((req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '') || 'tok-missing';
    const identity = ALLOWED[token];
    if (identity !== undefined) {
      const headers: Record<string, string> = { 'content-length': '0' };
      for (const [name, value] of Object.entries(identity)) headers[name] = utf8OnWire(value);
      res.writeHead(200, headers);
      res.end();
      return;
    }
    const d = DENIALS[token] ?? DENIALS['tok-invalid'];
    const body = JSON.stringify({ errors: [{ type: d.type, message: `${d.type}: the stub says no` }] });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...d.extra };
    const challenge = d.challenge ?? (d.error === undefined ? undefined : `Bearer realm="tokengate", error="${d.error}"`);
    if (challenge !== undefined) headers['www-authenticate'] = challenge;
    res.writeHead(d.status, headers);
    res.end(body);
  });
}

/** The stub backend: 200 for everything but its own error paths. */
function startBackend(): Promise<Stub> {
  return recorder((req, res) => {
    if (req.url === '/boom') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"backend":"boom"}');
    } else if (req.url === '/backend-401') {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="backend"', 'content-type': 'text/plain' });
      res.end('backend says no');
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('backend ok');
    }
  });
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client (forged headers in any case, repeated; the response's raw header list)

interface RawResponse {
  readonly status: number;
  /** Flat [name, value, ...] as received. */
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

function all(res: RawResponse | Seen, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i].toLowerCase() === name.toLowerCase()) out.push(res.rawHeaders[i + 1]);
  return out;
}

function one(res: RawResponse | Seen, name: string): string | undefined {
  const values = all(res, name);
  assert.ok(values.length <= 1, `${name} appears ${values.length} times: ${JSON.stringify(values)}`);
  return values[0];
}

function send(baseUrl: string, method: string, path: string, headers: readonly string[], body = ''): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const host = headers.some((h) => /^host:/i.test(h)) ? [] : [`Host: ${hostname}:${port}`];
  const head = [`${method} ${path} HTTP/1.1`, ...host, 'Connection: close', ...headers];
  if (body !== '' || method === 'POST') head.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer from ${baseUrl}${path}`)));
    socket.once('end', () => {
      try {
        resolve(parse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
  });
}

function parse(bytes: Buffer): RawResponse {
  const end = bytes.indexOf('\r\n\r\n');
  assert.ok(end > 0, `not an HTTP response: ${bytes.toString('latin1').slice(0, 200)}`);
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const rawHeaders: string[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    rawHeaders.push(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  let body = bytes.subarray(end + 4);
  const te = rawHeaders.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === 'transfer-encoding');
  if (te >= 0 && rawHeaders[te + 1].toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = body.indexOf('\r\n', at);
      const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
      if (!(size > 0)) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status, rawHeaders, body: body.toString('utf8') };
}

const bearer = (token: string) => [`Authorization: Bearer ${token}`];

/** Forged identity headers, in several spellings, repeated. */
const FORGED = ['X-User-Id: forged', 'x-user-id: forged-2', 'X-USER-EMAIL: forged@evil.example', 'x-user-email: forged@evil.example'];

/** A client trying to lie about the original request to the decision endpoint. */
const SPOOFED_ORIGINAL = ['X-Original-URI: /public', 'X-Original-Method: GET', 'X-Forwarded-Uri: /public', 'X-Forwarded-Method: GET', 'X-Forwarded-Host: evil.example'];

function assertNoForged(got: Seen): void {
  for (let i = 1; i < got.rawHeaders.length; i += 2) assert.doesNotMatch(got.rawHeaders[i], /forged/, `a forged value reached the backend: ${JSON.stringify(got.rawHeaders)}`);
}

/** Calls the peer and the decision endpoint directly with the same token and compares what the client sees. */
async function assertRelayedExactly(peerUrl: string, decision: Stub, backend: Stub, token: string): Promise<void> {
  const backendBefore = backend.seen.length;
  const direct = await send(decision.url, 'GET', DECISION_PATH, token === 'tok-missing' ? [] : bearer(token));
  const got = await send(peerUrl, 'POST', '/orders/7?a=1', token === 'tok-missing' ? [] : bearer(token), '{"order":7}');
  const label = `${token} (${direct.status})`;
  assert.equal(got.status, direct.status, label);
  assert.equal(got.body, direct.body, label);
  assert.deepEqual(all(got, 'www-authenticate'), all(direct, 'www-authenticate'), `${label}: WWW-Authenticate`);
  for (const name of ['content-type', 'retry-after', 'allow']) assert.equal(one(got, name), one(direct, name), `${label}: ${name}`);
  assert.deepEqual(JSON.parse(got.body), { errors: [{ type: DENIALS[token].type, message: `${DENIALS[token].type}: the stub says no` }] });
  assert.equal(backend.seen.length, backendBefore, `${label}: the backend must not be called`);
}

// ---------------------------------------------------------------------------------------------
// nginx

describe('nginx auth_request in front of a forward-auth decision endpoint', { skip: skipWithoutNginx() }, () => {
  let decision: Stub;
  let backend: Stub;
  let exact: NginxServer;
  let plain: NginxServer;
  let orphan: NginxServer;
  const started: { close(): Promise<void> }[] = [];

  before(async () => {
    decision = await startDecision();
    backend = await startBackend();
    const options: ForwardAuthPeerOptions = { decision: decision.url, decisionPath: DECISION_PATH, backendUrl: backend.url, identityHeaders: IDENTITY };
    exact = await startNginx(({ listen }) => nginxAuthRequestConfig({ ...options, listen }));
    started.push(exact);
    plain = await startNginx(({ listen }) => nginxPlainAuthRequestConfig({ ...options, listen }));
    started.push(plain);
    const nobody = await freePort();
    orphan = await startNginx(({ listen }) => nginxAuthRequestConfig({ ...options, decision: `127.0.0.1:${nobody}`, listen }));
    started.push(orphan);
  });
  after(async () => {
    await Promise.all(started.map((s) => s.close()));
    await Promise.all([decision?.close(), backend?.close()]);
  });

  it('starts in the foreground with every path inside its temp dir', async () => {
    assert.match(exact.config, /^daemon off;$/m);
    for (const line of exact.config.split('\n').filter((l) => /_path |^pid |error_log |access_log /.test(l.trim()))) assert.ok(line.includes(exact.dir), line);
    assert.match(await exact.logs(), /--- .*error\.log ---/);
  });

  it('allowed: identity headers copied byte-exact (UTF-8), forged copies dropped, method and body reach the backend', async () => {
    const res = await send(exact.url, 'POST', '/orders/7?a=1', [...bearer('tok-full'), ...FORGED], 'hello');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.body, 'backend ok');
    const got = backend.seen.at(-1)!;
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/orders/7?a=1');
    assert.equal(got.body, 'hello');
    assert.equal(one(got, 'x-user-id'), 'u-1');
    assert.equal(one(got, 'x-user-email'), EMAIL);
    assert.equal(one(got, 'authorization'), 'Bearer tok-full');
    assertNoForged(got);
  });

  it('a header absent from the answer never reaches the backend: an empty proxy_set_header is omitted', async () => {
    const res = await send(exact.url, 'GET', '/orders/8', [...bearer('tok-noemail'), ...FORGED]);
    assert.equal(res.status, 200, res.body);
    const got = backend.seen.at(-1)!;
    assert.equal(one(got, 'x-user-id'), 'u-2');
    assert.deepEqual(all(got, 'x-user-email'), []);
    assertNoForged(got);
  });

  it('the question: GET of the decision path with X-Original-URI/-Method of the real request, no body, no spoofed headers', async () => {
    const before = decision.seen.length;
    await send(exact.url, 'POST', '/orders/7?a=1', [...bearer('tok-full'), ...SPOOFED_ORIGINAL], 'hello');
    const asked = decision.seen.slice(before);
    assert.equal(asked.length, 1, 'one question for an allowed call');
    const q = asked[0];
    assert.equal(q.method, 'GET');
    assert.equal(q.url, DECISION_PATH);
    assert.equal(q.body, '');
    assert.equal(one(q, 'x-original-uri'), '/orders/7?a=1');
    assert.equal(one(q, 'x-original-method'), 'POST');
    assert.equal(one(q, 'authorization'), 'Bearer tok-full');
    for (const name of ['x-forwarded-uri', 'x-forwarded-method', 'x-forwarded-host', 'content-length', 'transfer-encoding']) assert.deepEqual(all(q, name), [], name);
  });

  it('denied: status (incl. 400/404/405/503), WWW-Authenticate (once), Retry-After, Content-Type and JSON body as the decision endpoint answered', async () => {
    for (const token of Object.keys(DENIALS)) await assertRelayedExactly(exact.url, decision, backend, token);
  });

  it('denied: the relay asks again with the same question (GET, original URI and method, no query on the decision path)', async () => {
    const before = decision.seen.length;
    await send(exact.url, 'POST', '/orders/7?a=1', bearer('tok-down'), 'hello');
    const asked = decision.seen.slice(before);
    assert.equal(asked.length, 2, 'auth_request, then the relay');
    for (const q of asked) {
      assert.equal(q.method, 'GET');
      assert.equal(q.url, DECISION_PATH);
      assert.equal(q.body, '');
      assert.equal(one(q, 'x-original-uri'), '/orders/7?a=1');
      assert.equal(one(q, 'x-original-method'), 'POST');
    }
  });

  it('the trap, plain auth_request: 400/404/405/503 become a bodiless-of-JSON 500, 401/403 lose the JSON body', async () => {
    for (const token of ['tok-malformed', 'tok-noroute', 'tok-method', 'tok-down']) {
      const res = await send(plain.url, 'GET', '/orders/7', bearer(token));
      assert.equal(res.status, 500, token);
      assert.match(res.body, /<title>500 Internal Server Error<\/title>/, token);
      assert.deepEqual(all(res, 'retry-after'), [], token);
    }
    const invalid = await send(plain.url, 'GET', '/orders/7', bearer('tok-invalid'));
    assert.equal(invalid.status, 401);
    assert.equal(one(invalid, 'www-authenticate'), 'Bearer realm="tokengate", error="invalid_token"');
    assert.match(invalid.body, /<title>401 Authorization Required<\/title>/);
    const scope = await send(plain.url, 'GET', '/orders/7', bearer('tok-scope'));
    assert.equal(scope.status, 403);
    assert.deepEqual(all(scope, 'www-authenticate'), [], 'nginx copies WWW-Authenticate only for 401');
  });

  it("the backend's own 500 and 401 pass through untouched: error_page never re-asks for a proxied answer", async () => {
    const before = decision.seen.length;
    const boom = await send(exact.url, 'GET', '/boom', bearer('tok-full'));
    assert.equal(boom.status, 500);
    assert.equal(boom.body, '{"backend":"boom"}');
    const no = await send(exact.url, 'GET', '/backend-401', bearer('tok-full'));
    assert.equal(no.status, 401);
    assert.equal(no.body, 'backend says no');
    assert.equal(one(no, 'www-authenticate'), 'Basic realm="backend"');
    assert.equal(decision.seen.length - before, 2, 'one question per call');
  });

  it('upstream keep-alive: consecutive allowed calls share one connection to the decision endpoint and one to the backend', async () => {
    const [d, b] = [decision.seen.length, backend.seen.length];
    for (let i = 0; i < 5; i++) assert.equal((await send(exact.url, 'GET', `/orders/${i}`, bearer('tok-full'))).status, 200);
    assert.equal(new Set(decision.seen.slice(d).map((s) => s.socket)).size, 1, 'decision connections');
    assert.equal(new Set(backend.seen.slice(b).map((s) => s.socket)).size, 1, 'backend connections');
  });

  it('decision endpoint unreachable: fails closed with 502, the backend is never called', async () => {
    const before = backend.seen.length;
    const res = await send(orphan.url, 'GET', '/orders/7', bearer('tok-full'));
    assert.equal(res.status, 502);
    assert.equal(backend.seen.length, before);
  });

  it('a client cannot call the decision location directly (internal)', async () => {
    const before = decision.seen.length;
    const res = await send(exact.url, 'GET', DECISION_PATH, bearer('tok-full'));
    assert.equal(res.status, 404);
    assert.equal(decision.seen.length, before);
  });
});

// ---------------------------------------------------------------------------------------------
// Caddy

describe('Caddy forward_auth in front of a forward-auth decision endpoint', { skip: skipWithoutCaddy() }, () => {
  let decision: Stub;
  let backend: Stub;
  let exact: CaddyServer;
  let plain: CaddyServer;
  let orphan: CaddyServer;
  const started: { close(): Promise<void> }[] = [];

  before(async () => {
    decision = await startDecision();
    backend = await startBackend();
    const options: ForwardAuthPeerOptions = { decision: decision.url, decisionPath: DECISION_PATH, backendUrl: backend.url, identityHeaders: IDENTITY };
    [exact, plain, orphan] = await Promise.all([
      startCaddy(({ listen }) => caddyForwardAuthConfig({ ...options, listen })),
      startCaddy(({ listen }) => caddyPlainForwardAuthConfig({ ...options, listen })),
      freePort().then((nobody) => startCaddy(({ listen }) => caddyForwardAuthConfig({ ...options, decision: `127.0.0.1:${nobody}`, listen }))),
    ]);
    started.push(exact, plain, orphan);
  });
  after(async () => {
    await Promise.all(started.map((s) => s.close()));
    await Promise.all([decision?.close(), backend?.close()]);
  });

  it('runs with admin off, automatic HTTPS off, its state in the temp dir', async () => {
    assert.match(exact.config, /^\tadmin off$/m);
    assert.match(exact.config, /^\tauto_https off$/m);
    const logs = await exact.logs();
    assert.match(logs, /admin endpoint disabled/);
    assert.ok(!logs.includes('"level":"error"'), logs);
  });

  it('allowed: identity headers copied byte-exact (UTF-8), forged copies dropped, method and body reach the backend', async () => {
    const res = await send(exact.url, 'POST', '/orders/7?a=1', [...bearer('tok-full'), ...FORGED], 'hello');
    assert.equal(res.status, 200, res.body);
    const got = backend.seen.at(-1)!;
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/orders/7?a=1');
    assert.equal(got.body, 'hello');
    assert.equal(one(got, 'x-user-id'), 'u-1');
    assert.equal(one(got, 'x-user-email'), EMAIL);
    assertNoForged(got);
  });

  it('a header absent from the answer never reaches the backend, nor does a forged copy', async () => {
    const res = await send(exact.url, 'GET', '/orders/8', [...bearer('tok-noemail'), ...FORGED]);
    assert.equal(res.status, 200, res.body);
    const got = backend.seen.at(-1)!;
    assert.equal(one(got, 'x-user-id'), 'u-2');
    assert.deepEqual(all(got, 'x-user-email'), []);
    assertNoForged(got);
  });

  it("the trap, Caddy's own forward_auth + copy_headers: an absent header arrives as the placeholder's literal text", async (t) => {
    const res = await send(plain.url, 'GET', '/orders/8?a=1', [...bearer('tok-noemail'), ...FORGED]);
    assert.equal(res.status, 200, res.body);
    const got = backend.seen.at(-1)!;
    assert.equal(one(got, 'x-user-id'), 'u-2');
    const version = caddyVersion() ?? '';
    if (/^2\.[0-7]\./.test(version)) {
      assert.deepEqual(all(got, 'x-user-email'), ['{http.reverse_proxy.header.X-User-Email}'], `caddy ${version}`);
      // ... and the original query string rides along on the question's path.
      assert.equal(decision.seen.at(-1)!.url, `${DECISION_PATH}?a=1`);
    } else {
      t.diagnostic(`caddy ${version}: backend got X-User-Email ${JSON.stringify(all(got, 'x-user-email'))}`);
    }
  });

  it('the question: GET of the decision path (no query) with X-Forwarded-Method/-Uri/-Host of the real request, no body, no spoofed headers', async () => {
    const before = decision.seen.length;
    await send(exact.url, 'POST', '/orders/7?a=1', [...bearer('tok-full'), ...SPOOFED_ORIGINAL, ...FORGED], 'hello');
    const asked = decision.seen.slice(before);
    assert.equal(asked.length, 1);
    const q = asked[0];
    assert.equal(q.method, 'GET');
    assert.equal(q.url, DECISION_PATH);
    assert.equal(q.body, '');
    assert.equal(one(q, 'x-forwarded-uri'), '/orders/7?a=1');
    assert.equal(one(q, 'x-forwarded-method'), 'POST');
    assert.equal(one(q, 'x-forwarded-host'), `127.0.0.1:${exact.port}`);
    assert.equal(one(q, 'x-forwarded-proto'), 'http');
    assert.equal(one(q, 'authorization'), 'Bearer tok-full');
    for (const name of ['x-original-uri', 'x-original-method', 'x-user-id', 'x-user-email', 'content-length', 'transfer-encoding']) assert.deepEqual(all(q, name), [], name);
  });

  it('denied: status, WWW-Authenticate, Retry-After, Content-Type and JSON body as the decision endpoint answered (reverse_proxy default)', async () => {
    for (const token of Object.keys(DENIALS)) await assertRelayedExactly(exact.url, decision, backend, token);
    for (const token of Object.keys(DENIALS)) await assertRelayedExactly(plain.url, decision, backend, token);
  });

  it('upstream keep-alive: consecutive allowed calls share one connection to the decision endpoint and one to the backend', async () => {
    const [d, b] = [decision.seen.length, backend.seen.length];
    for (let i = 0; i < 5; i++) assert.equal((await send(exact.url, 'GET', `/orders/${i}`, bearer('tok-full'))).status, 200);
    assert.equal(new Set(decision.seen.slice(d).map((s) => s.socket)).size, 1, 'decision connections');
    assert.equal(new Set(backend.seen.slice(b).map((s) => s.socket)).size, 1, 'backend connections');
  });

  it('decision endpoint unreachable: fails closed with 502, the backend is never called', async () => {
    const before = backend.seen.length;
    const res = await send(orphan.url, 'GET', '/orders/7', bearer('tok-full'));
    assert.equal(res.status, 502);
    assert.equal(backend.seen.length, before);
  });

  it('answers a request whatever its Host header (no host matcher in the site address)', async () => {
    const res = await send(exact.url, 'GET', '/orders/9', [...bearer('tok-full'), 'Host: app.example']);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'backend ok');
  });
});
