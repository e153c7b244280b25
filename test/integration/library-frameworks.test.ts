/**
 * SPEC 7.3, the framework faces: a real Fastify app, a real Express app and a node:http server,
 * each guarding the same policies as a real gateway started on the same validator. Every denial
 * of a face must be the gateway's own answer for the same request (status, headers, body); an
 * allowed request reaches the handler with the decision, whose identity is what the gateway sent
 * its backend. The token is found by the core in each face's request (two Authorization headers,
 * query and form tokens), never by the face.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import tokengate from '../../src/library/fastify.js';
import { tokengate as expressTokengate } from '../../src/library/express.js';
import { createTokenValidator, type AllowedDecision, type RequestOptions, type TokenValidator } from '../../src/library/index.js';
import { withTokengate } from '../../src/library/node.js';
import { headerBytes, rawRequest, startTestGateway, type TestGateway } from '../fixtures/gateway.js';
import { freePort, listenLocal } from '../fixtures/ports.js';
import { startSampleBackend, type SampleBackend } from '../fixtures/sample-backend.js';
import { SEED_USER_INFO, startSeedEndpoint, type SeedEndpoint } from '../fixtures/seed-endpoint.js';

const GOOD = 'faces-good-token';
const ID_HEADERS = { 'X-User-Id': 'uid', 'X-User-Last-Name': 'lastName', 'X-Account-Names': '$.accounts[*].name' };
const POLICIES: Record<string, RequestOptions & { validator: string }> = {
  '/orders': { validator: 'seed', requiredScopes: ['orders:read'], identityHeaders: ID_HEADERS },
  '/admin': { validator: 'seed', requiredScopes: ['orders:read', 'orders:write'] },
  '/down': { validator: 'down' },
  '/query': { validator: 'seed', tokenFrom: ['query'] },
  '/form': { validator: 'seed', tokenFrom: ['form'] },
};
/** Per-connection or per-request headers, not part of the answer (the gateway's request id differs per request). */
const TRANSPORT = new Set(['date', 'connection', 'keep-alive', 'x-request-id']);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

async function answerOf(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  return { status: res.status, headers: Object.fromEntries([...res.headers].filter(([name]) => !TRANSPORT.has(name))), body: await res.text() };
}

/** Two Authorization headers, which fetch cannot send. */
async function twoAuthorizations(url: string): Promise<Answer> {
  const res = await rawRequest(url, `GET /orders HTTP/1.1\r\nhost: test\r\nauthorization: Bearer ${GOOD}\r\nauthorization: Bearer other`);
  const headers = Object.fromEntries([...res.headers].filter(([name]) => !TRANSPORT.has(name)).map(([name, values]) => [name, values.join(', ')]));
  return { status: res.status, headers, body: res.body };
}

const form = (body: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });

interface Face {
  readonly name: string;
  readonly url: string;
  /** The decisions the handler was reached with. */
  readonly seen: AllowedDecision[];
  readonly form: boolean;
  close(): Promise<void>;
}

function reply(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
}

async function fastifyFace(tg: TokenValidator): Promise<Face> {
  const seen: AllowedDecision[] = [];
  const app: FastifyInstance = Fastify();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, parseQuery(body as string)));
  for (const [path, { validator, ...options }] of Object.entries(POLICIES)) {
    await app.register(async (scope) => {
      await scope.register(tokengate, { validator: tg, validatorName: validator, ...options });
      scope.all(path, async (request) => {
        seen.push(request.tokengate!);
        return { ok: true };
      });
    });
  }
  app.get('/open', async (request) => ({ guarded: request.tokengate !== undefined }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { name: 'Fastify', url, seen, form: true, close: () => app.close() };
}

async function expressFace(tg: TokenValidator): Promise<Face> {
  const seen: AllowedDecision[] = [];
  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false }));
  for (const [path, options] of Object.entries(POLICIES)) {
    app.all(path, expressTokengate(tg, options), (req, res) => {
      seen.push(req.tokengate!);
      reply(res);
    });
  }
  app.get('/open', (req, res) => void res.json({ guarded: req.tokengate !== undefined }));
  const server = createServer(app);
  const url = await listenLocal(server);
  return { name: 'Express', url, seen, form: true, close: () => closeServer(server) };
}

async function nodeFace(tg: TokenValidator): Promise<Face> {
  const seen: AllowedDecision[] = [];
  const listeners = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  for (const [path, options] of Object.entries(POLICIES)) {
    listeners.set(path, withTokengate(tg, options, (req, res, decision) => {
      assert.equal(req.tokengate, decision);
      seen.push(decision);
      reply(res);
    }));
  }
  const server = createServer((req, res) => listeners.get(new URL(req.url ?? '/', 'http://x').pathname)!(req, res));
  const url = await listenLocal(server);
  return { name: 'node:http', url, seen, form: false, close: () => closeServer(server) };
}

function closeServer(server: ReturnType<typeof createServer>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

describe('framework faces answer exactly as the gateway does (SPEC 7.3, section 4)', () => {
  let seed: SeedEndpoint;
  let backend: SampleBackend;
  let gw: TestGateway;
  let tg: TokenValidator;
  let faces: Face[];

  before(async () => {
    seed = await startSeedEndpoint({ users: new Map([[GOOD, { ...SEED_USER_INFO, scope: 'orders:read' }]]) });
    backend = await startSampleBackend();
    const validators = { seed: { url: seed.validationUrl }, down: { url: `http://127.0.0.1:${await freePort()}/introspect`, timeoutMs: 500 } };
    gw = await startTestGateway({ validators, routes: Object.entries(POLICIES).map(([path, policy]) => ({ path, upstream: backend.url, ...policy })) });
    tg = await createTokenValidator({ validators });
    faces = [await fastifyFace(tg), await expressFace(tg), await nodeFace(tg)];
  });
  after(async () => {
    await Promise.all(faces.map((face) => face.close()));
    await gw.close();
    await tg.close();
    await Promise.all([seed.close(), backend.close()]);
  });

  /** The face's answer to `path` equals the gateway's, and the handler was not reached. */
  async function sameDenial(face: Face, path: string, init: RequestInit, status: number): Promise<Answer> {
    const reached = face.seen.length;
    const expected = await answerOf(`${gw.url}${path}`, init);
    assert.equal(expected.status, status);
    assert.deepEqual(await answerOf(`${face.url}${path}`, init), expected);
    assert.equal(face.seen.length, reached, 'a denied request never reaches the handler');
    return expected;
  }

  for (const name of ['Fastify', 'Express', 'node:http']) {
    const faceOf = () => faces.find((face) => face.name === name)!;

    test(`${name}: allowed, the handler gets the decision with the identity the gateway sent its backend`, async () => {
      const face = faceOf();
      const headers = { authorization: `Bearer ${GOOD}` };
      assert.equal((await answerOf(`${face.url}/orders`, { headers })).status, 200);
      assert.equal((await answerOf(`${gw.url}/orders`, { headers })).status, 200);
      const decision = face.seen.at(-1)!;
      assert.equal(decision.allowed, true);
      assert.equal(decision.claims?.lastName, 'öhlundi');
      const sent = backend.received.at(-1)!.rawHeaders;
      for (const header of Object.keys(ID_HEADERS)) {
        assert.deepEqual([Buffer.from(decision.identity[header.toLowerCase()], 'latin1')], headerBytes(sent, header), header);
      }
    });

    test(`${name}: 401 without a token and with an invalid one, as the gateway answers`, async () => {
      const missing = await sameDenial(faceOf(), '/orders', {}, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="tokengate"');
      const invalid = await sameDenial(faceOf(), '/orders', { headers: { authorization: 'Bearer faces-unknown-token' } }, 401);
      assert.equal(invalid.headers['www-authenticate'], 'Bearer realm="tokengate", error="invalid_token"');
    });

    test(`${name}: 403 insufficient_scope naming every required scope, as the gateway answers`, async () => {
      const answer = await sameDenial(faceOf(), '/admin', { headers: { authorization: `Bearer ${GOOD}` } }, 403);
      assert.equal(answer.headers['www-authenticate'], 'Bearer realm="tokengate", error="insufficient_scope", scope="orders:read orders:write"');
    });

    test(`${name}: 503 with Retry-After when the validator is down, as the gateway answers`, async () => {
      const answer = await sameDenial(faceOf(), '/down', { headers: { authorization: `Bearer ${GOOD}` } }, 503);
      assert.equal(answer.headers['retry-after'], '5');
    });

    test(`${name}: two Authorization headers are a 400, as the gateway answers`, async () => {
      const expected = await twoAuthorizations(gw.url);
      assert.equal(expected.status, 400);
      assert.deepEqual(await twoAuthorizations(faceOf().url), expected);
    });

    test(`${name}: a query token where tokenFrom allows it, a 400 where it does not`, async () => {
      const face = faceOf();
      assert.equal((await answerOf(`${face.url}/query?x=1&access_token=${GOOD}`)).status, 200);
      await sameDenial(face, `/orders?access_token=${GOOD}`, {}, 400);
    });
  }

  for (const name of ['Fastify', 'Express']) {
    test(`${name}: a form token from the body the framework parsed; two of them are a 400, as the gateway answers`, async () => {
      const face = faces.find((f) => f.name === name)!;
      assert.equal((await answerOf(`${face.url}/form`, form(`a=1&access_token=${GOOD}`))).status, 200);
      await sameDenial(face, '/form', form(`access_token=${GOOD}&access_token=${GOOD}`), 400);
      await sameDenial(face, '/form', form('a=1'), 401);
    });

    test(`${name}: a route outside the guard has no decision`, async () => {
      const face = faces.find((f) => f.name === name)!;
      assert.deepEqual(JSON.parse((await answerOf(`${face.url}/open`)).body), { guarded: false });
    });
  }

  test('the faces share the TokenValidator cache: one validator call for the good token across all of them (and one by the gateway)', () => {
    assert.equal(seed.calls.get(GOOD), 2);
  });
});
