/**
 * A small, self-contained OAuth 2.0 authorization server for demos and tests.
 *
 * It runs the real `oidc-provider` (v9) with the client-credentials grant,
 * token introspection (RFC 7662) and token revocation (RFC 7009) enabled, and
 * issues opaque access tokens. Everything lives in memory: the signing key and
 * the cookie keys are generated at start-up and the token store is a per-server
 * Map, so nothing is read from or written to disk and two servers started in
 * one process never share state.
 *
 * The server only ever binds to 127.0.0.1.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AuthorizationServer {
  /** The issuer identifier, e.g. `http://127.0.0.1:PORT`. */
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly introspectionUrl: string;
  readonly revocationUrl: string;
  /**
   * The confidential client that mints tokens and that may also call the
   * introspection and revocation endpoints. Both `client_secret_basic` and
   * `client_secret_post` are accepted for it.
   */
  readonly client: { readonly clientId: string; readonly clientSecret: string };
  /** Mints a fresh opaque access token with the client-credentials grant over real HTTP to tokenUrl. */
  mintToken(scope?: string): Promise<string>;
  /** Revokes a token over real HTTP (RFC 7009) at revocationUrl. */
  revoke(token: string): Promise<void>;
  close(): Promise<void>;
}

export interface AuthorizationServerOptions {
  /** Port to bind on 127.0.0.1; default 0 (a free port). */
  port?: number;
  /** The scopes the client may request; default `['orders:read', 'orders:write', 'profile']`. */
  scopes?: readonly string[];
  /** Lifetime of minted access tokens; default 3600. */
  accessTokenTtlSeconds?: number;
}

const HOST = '127.0.0.1';
const DEFAULT_SCOPES: readonly string[] = ['orders:read', 'orders:write', 'profile'];
const DEFAULT_TTL_SECONDS = 3600;

// Route paths (these are oidc-provider's defaults, spelled out so the URLs we
// hand out and the routes the provider serves cannot drift apart).
const ROUTES = {
  token: '/token',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
} as const;

// ---------------------------------------------------------------------------
// Minimal typings for the part of oidc-provider used here. The package ships
// no type declarations (and @types/oidc-provider is not a dependency), so it is
// loaded through a non-literal dynamic import, which TypeScript types as `any`,
// and narrowed to these shapes.
// ---------------------------------------------------------------------------

interface OidcClientLike {
  readonly clientId: string;
}

interface OidcTokenLike {
  readonly clientId?: string;
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

interface OidcProvider {
  callback(): RequestHandler;
}

type OidcProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;

interface OidcProviderModule {
  readonly Provider: OidcProviderConstructor;
}

const OIDC_PROVIDER_MODULE: string = 'oidc-provider';
let providerModule: Promise<OidcProviderModule> | undefined;

function loadProviderModule(): Promise<OidcProviderModule> {
  providerModule ??= importQuietly().catch((error: unknown) => {
    providerModule = undefined;
    throw error;
  });
  return providerModule;
}

/**
 * oidc-provider 9 warns at import on any runtime older than Node 22 LTS. The demo and the tests
 * run it on Node 20 (this project's runtime) and use only what works there, so the one warning is
 * noise for a user trying the demo; every other warning still shows.
 */
async function importQuietly(): Promise<OidcProviderModule> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
    warn(...args);
  };
  try {
    return (await import(OIDC_PROVIDER_MODULE)) as OidcProviderModule;
  } finally {
    console.warn = warn;
  }
}

// ---------------------------------------------------------------------------
// In-memory storage adapter.
//
// oidc-provider's built-in MemoryAdapter prints a "development-only in-memory
// adapter" warning (stderr) on every Provider construction and keeps an LRU
// capped at 1000 entries, so under load (benchmarks) older, still valid tokens
// would silently start introspecting as inactive. This one is scoped to a
// single server, honours expiry and has no size cap (expired entries are swept
// every 1000 writes).
// ---------------------------------------------------------------------------

type Payload = Record<string, unknown>;

interface StoredEntry {
  readonly payload: Payload;
  readonly expiresAt: number; // epoch ms, Infinity when the model has no expiry
}

const GRANTABLE_MODELS = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

function createMemoryAdapterClass(clockToleranceSeconds: number) {
  const entries = new Map<string, StoredEntry>();
  const sessionUids = new Map<string, string>();
  const userCodes = new Map<string, string>();
  const grants = new Map<string, Set<string>>();
  let writesSinceSweep = 0;

  const sweep = (): void => {
    const now = Date.now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt <= now) entries.delete(key);
    }
  };

  const read = (key: string): Payload | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  };

  return class InMemoryAdapter {
    readonly #model: string;

    constructor(model: string) {
      this.#model = model;
    }

    #key(id: string): string {
      return `${this.#model}:${id}`;
    }

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      const key = this.#key(id);
      const expiresAt =
        typeof expiresIn === 'number' ? Date.now() + (expiresIn + clockToleranceSeconds) * 1000 : Infinity;
      entries.set(key, { payload, expiresAt });

      if (this.#model === 'Session' && typeof payload['uid'] === 'string') {
        sessionUids.set(payload['uid'], id);
      }
      if (typeof payload['userCode'] === 'string') {
        userCodes.set(payload['userCode'], id);
      }
      const grantId = payload['grantId'];
      if (GRANTABLE_MODELS.has(this.#model) && typeof grantId === 'string') {
        let members = grants.get(grantId);
        if (members === undefined) {
          members = new Set();
          grants.set(grantId, members);
        }
        members.add(key);
      }

      if (++writesSinceSweep >= 1000) {
        writesSinceSweep = 0;
        sweep();
      }
    }

    async find(id: string): Promise<Payload | undefined> {
      return read(this.#key(id));
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      const id = sessionUids.get(uid);
      return id === undefined ? undefined : this.find(id);
    }

    async findByUserCode(userCode: string): Promise<Payload | undefined> {
      const id = userCodes.get(userCode);
      return id === undefined ? undefined : this.find(id);
    }

    async consume(id: string): Promise<void> {
      const payload = read(this.#key(id));
      if (payload !== undefined) payload['consumed'] = Math.floor(Date.now() / 1000);
    }

    async destroy(id: string): Promise<void> {
      const key = this.#key(id);
      const payload = entries.get(key)?.payload;
      entries.delete(key);
      if (payload === undefined) return;
      if (typeof payload['uid'] === 'string' && sessionUids.get(payload['uid']) === id) {
        sessionUids.delete(payload['uid']);
      }
      if (typeof payload['userCode'] === 'string' && userCodes.get(payload['userCode']) === id) {
        userCodes.delete(payload['userCode']);
      }
      if (typeof payload['grantId'] === 'string') {
        grants.get(payload['grantId'])?.delete(key);
      }
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const members = grants.get(grantId);
      if (members === undefined) return;
      for (const key of members) entries.delete(key);
      grants.delete(grantId);
    }
  };
}

// ---------------------------------------------------------------------------

function randomToken(bytes: number): string {
  // base64url: no characters that need form-encoding inside HTTP Basic credentials.
  return randomBytes(bytes).toString('base64url');
}

function listen(port: number, handle: () => RequestHandler | undefined): Promise<ReturnType<typeof createServer>> {
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      const handler = handle();
      if (handler === undefined) {
        // Only reachable with a fixed port, in the moment between binding and
        // the provider being attached.
        res.writeHead(503, { 'retry-after': '1' }).end();
        return;
      }
      handler(req, res);
    });
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(server);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, HOST);
  });
}

async function readJson(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text();
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // fall through
  }
  throw new Error(`authorization server answered ${response.status} with a non-JSON-object body: ${text.slice(0, 200)}`);
}

export async function startAuthorizationServer(
  options: AuthorizationServerOptions = {},
): Promise<AuthorizationServer> {
  const port = options.port ?? 0;
  const scopes = [...(options.scopes ?? DEFAULT_SCOPES)];
  const ttlSeconds = options.accessTokenTtlSeconds ?? DEFAULT_TTL_SECONDS;

  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer between 0 and 65535, got ${port}`);
  }
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`accessTokenTtlSeconds must be a positive integer, got ${ttlSeconds}`);
  }
  for (const scope of scopes) {
    if (scope === '' || /[\s"\\]/u.test(scope)) {
      throw new TypeError(`invalid scope token: ${JSON.stringify(scope)}`);
    }
  }

  const { Provider } = await loadProviderModule();

  // Bind first so the issuer can carry the real port; the provider is attached
  // once it exists.
  let handler: RequestHandler | undefined;
  const server = await listen(port, () => handler);
  const { port: boundPort } = server.address() as AddressInfo;
  const issuer = `http://${HOST}:${boundPort}`;

  const client = {
    clientId: `demo-client-${randomToken(6)}`,
    clientSecret: randomToken(32),
  } as const;

  // An EC P-256 key: generating it takes well under a millisecond, whereas an
  // RSA key takes ~100-300 ms. It is only used if something asks the provider
  // to sign (e.g. the JWKS endpoint); client-credentials tokens are opaque.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: randomToken(8), use: 'sig', alg: 'ES256' };

  let provider: OidcProvider;
  try {
    provider = new Provider(issuer, {
      adapter: createMemoryAdapterClass(0),
      jwks: { keys: [signingJwk] },
      cookies: { keys: [randomToken(32), randomToken(32)] },
      clients: [
        {
          client_id: client.clientId,
          client_secret: client.clientSecret,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_basic',
          // Required: the default (RS256) has no key in our EC-only JWKS and
          // the client would be rejected as invalid_client_metadata.
          id_token_signed_response_alg: 'ES256',
          // The client's allow-list, enforced (400 invalid_scope) for values
          // that are in the provider's `scopes` list, e.g. `openid`.
          scope: scopes.join(' '),
        },
      ],
      // Without resource indicators, v9 filters a client-credentials `scope`
      // request down to the values listed here: unknown values are silently
      // dropped (a narrower grant, RFC 6749 section 3.3, visible in the token
      // response's `scope`). The provider always adds `openid` to this list.
      scopes,
      clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: {
          enabled: true,
          // Any authenticated client may introspect tokens it issued; this
          // server only has one client.
          allowedPolicy: async (_ctx: unknown, caller: OidcClientLike, token: OidcTokenLike) =>
            token.clientId === caller.clientId,
        },
        revocation: {
          enabled: true,
          allowedPolicy: async (_ctx: unknown, caller: OidcClientLike, token: OidcTokenLike) =>
            token.clientId === caller.clientId,
        },
      },
      routes: { ...ROUTES },
      ttl: {
        ClientCredentials: ttlSeconds,
        AccessToken: ttlSeconds,
      },
      // Server-to-server only: no CORS for browsers.
      clientBasedCORS: () => false,
    });
  } catch (error) {
    server.close();
    throw error;
  }

  handler = provider.callback();

  const tokenUrl = `${issuer}${ROUTES.token}`;
  const introspectionUrl = `${issuer}${ROUTES.introspection}`;
  const revocationUrl = `${issuer}${ROUTES.revocation}`;
  const basicAuth = `Basic ${Buffer.from(
    `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`,
  ).toString('base64')}`;

  let closing: Promise<void> | undefined;

  return {
    issuer,
    tokenUrl,
    introspectionUrl,
    revocationUrl,
    client,

    async mintToken(scope?: string): Promise<string> {
      const form = new URLSearchParams({ grant_type: 'client_credentials' });
      if (scope !== undefined && scope !== '') form.set('scope', scope);
      const response = await fetch(tokenUrl, {
        method: 'POST',
        headers: {
          authorization: basicAuth,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form,
      });
      const body = await readJson(response);
      if (!response.ok || typeof body['access_token'] !== 'string') {
        throw new Error(`token request failed with ${response.status}: ${JSON.stringify(body)}`);
      }
      return body['access_token'];
    },

    async revoke(token: string): Promise<void> {
      const response = await fetch(revocationUrl, {
        method: 'POST',
        headers: {
          authorization: basicAuth,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      });
      if (!response.ok) {
        throw new Error(`revocation request failed with ${response.status}: ${await response.text()}`);
      }
      await response.body?.cancel();
    },

    close(): Promise<void> {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
