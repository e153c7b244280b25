/**
 * A validation endpoint that answers exactly like the seed document's sample
 * (`GET …/GetUserDetails?api_key=…` with `Authorization: Bearer <token>`): 200 with the sample user
 * info for a known token, 401 with the sample errors body (which, like the seed's, repeats the
 * token: tokengate must never pass that on). Used by `demo`, by the tests and by the benchmark.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listen, urlOf } from '../http/listen.js';

/** The seed's sample 200 body, non-ASCII names included. */
export const SEED_USER_INFO = Object.freeze({
  type: 'userWsDTO',
  uid: 'abcd23456',
  accontManagerEmail: 'ajdoe@marketplace.se',
  accontManagerName: 'John Doe',
  accontManagerPhone: ['034534534'],
  accounts: [
    { name: 'Adam Phils', uid: '100004567' },
    { name: 'Duffy woöf', uid: '100004444' },
  ],
  active: true,
  email: 'jason.borne@marketplace.se',
  firstName: 'Jason',
  lastLoginDate: '2020-04-16T05:14:17-0400',
  lastName: 'öhlundi',
});

/** The seed's sample 401 body for `token`. */
export function seedInvalidTokenBody(token: string): string {
  return JSON.stringify({ errors: [{ type: 'InvalidTokenError', message: `Invalid access token: ${token}` }] });
}

/** A scripted answer, for tests that need the endpoint to misbehave. */
export interface ScriptedAnswer {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  readonly delayMs?: number;
  /** Destroy the connection without answering. */
  readonly hangUp?: boolean;
}

export interface SeedEndpointOptions {
  readonly port?: number;
  readonly path?: string;
  /** Required `api_key` query parameter; unset: not checked. */
  readonly apiKey?: string;
  /** token -> user info answered with 200. */
  readonly users?: ReadonlyMap<string, unknown>;
  /** Delay before every answer. */
  readonly latencyMs?: number;
  /** Consulted first; `undefined` falls back to the seed behaviour. */
  readonly script?: (token: string, req: IncomingMessage) => ScriptedAnswer | undefined;
}

export interface SeedEndpoint {
  readonly url: string;
  /** The full validation URL (without api_key). */
  readonly validationUrl: string;
  /** Calls received, by token (the fixture may count raw tokens: it plays the authorization server). */
  readonly calls: Map<string, number>;
  totalCalls(): number;
  close(): Promise<void>;
}

export async function startSeedEndpoint(options: SeedEndpointOptions = {}): Promise<SeedEndpoint> {
  const path = options.path ?? '/uat/se/storel/GetUserDetails';
  const users = options.users ?? new Map<string, unknown>();
  const calls = new Map<string, number>();

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    const token = match?.[1] ?? '';
    calls.set(token, (calls.get(token) ?? 0) + 1);
    const answer = options.script?.(token, req) ?? seedAnswer(url, path, token, users, options.apiKey);
    const delay = (answer.delayMs ?? 0) + (options.latencyMs ?? 0);
    // The body is read (and ignored) so that keep-alive works for POSTs too.
    req.resume();
    if (delay > 0) setTimeout(() => send(res, answer), delay);
    else send(res, answer);
  });
  await listen(server, options.port ?? 0, '127.0.0.1');
  const url = urlOf(server);
  return {
    url,
    validationUrl: `${url}${path}`,
    calls,
    totalCalls: () => [...calls.values()].reduce((a, b) => a + b, 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function seedAnswer(url: URL, path: string, token: string, users: ReadonlyMap<string, unknown>, apiKey: string | undefined): ScriptedAnswer {
  if (url.pathname !== path) return { status: 404, body: '' };
  if (apiKey !== undefined && url.searchParams.get('api_key') !== apiKey) return json(403, { errors: [{ type: 'ForbiddenError', message: 'Invalid api_key' }] });
  const user = users.get(token);
  if (user === undefined) return { status: 401, headers: { 'content-type': 'application/json' }, body: seedInvalidTokenBody(token) };
  return json(200, user);
}

function json(status: number, value: unknown): ScriptedAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

function send(res: ServerResponse, answer: ScriptedAnswer): void {
  if (answer.hangUp === true) {
    res.socket?.destroy();
    return;
  }
  const body = answer.body ?? '';
  res.writeHead(answer.status ?? 200, { 'content-length': Buffer.byteLength(body), ...answer.headers });
  res.end(body);
}
