/**
 * `bin/tokengate demo`, a development-time tool (it needs the dev dependencies: oidc-provider, and
 * tsx to run this file): a real OAuth 2.0 authorization server (oidc-provider: client credentials, RFC 7662
 * introspection, RFC 7009 revocation), a seed-style validation endpoint, a sample backend and the
 * gateway in front of it, all on 127.0.0.1; prints curl lines that work when pasted. Ctrl-C stops all.
 */
import { parseOptions, UsageError } from '../src/cli/args.js';
import { buildConfig } from '../src/config/load.js';
import { startGateway } from '../src/gateway.js';
import { startAuthorizationServer } from '../test/fixtures/authorization-server.js';
import { startSampleBackend } from '../test/fixtures/sample-backend.js';
import { SEED_USER_INFO, startSeedEndpoint } from '../test/fixtures/seed-endpoint.js';

const SEED_DEMO_TOKEN = '8dbd30ed-2e19-42cf-9b86-demo';
const SEED_API_KEY = 'demo-api-key';

export async function runDemo(args: string[]): Promise<number> {
  const options = parseOptions(args, { port: { type: 'string', default: '8080' } }, '');
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a port number (0 for any free port)');

  const authorizationServer = await startAuthorizationServer();
  const seed = await startSeedEndpoint({
    apiKey: SEED_API_KEY,
    // The seed's sample user, with an exp an hour ahead so the gateway's exp check passes.
    users: new Map([[SEED_DEMO_TOKEN, { ...SEED_USER_INFO, exp: Math.floor(Date.now() / 1000) + 3600 }]]),
  });
  const backend = await startSampleBackend();

  const config = buildConfig({
    server: { host: '127.0.0.1', port },
    realm: 'tokengate-demo',
    validators: {
      'demo-as': {
        url: authorizationServer.introspectionUrl,
        style: 'rfc7662',
        clientAuth: { method: 'client_secret_basic', clientId: authorizationServer.client.clientId, clientSecret: authorizationServer.client.clientSecret },
        cache: { ttlSeconds: 30 },
      },
      mashery: { url: seed.validationUrl, style: 'bearer', query: { api_key: SEED_API_KEY } },
    },
    routes: [
      {
        path: '/api',
        upstream: backend.url,
        validator: 'demo-as',
        requiredScopes: ['orders:read'],
        identityHeaders: { 'X-Client-Id': 'client_id', 'X-Scopes': 'scope' },
      },
      {
        path: '/store',
        upstream: backend.url,
        validator: 'mashery',
        identityHeaders: { 'X-User-Id': 'uid', 'X-User-Email': '$.email', 'X-User-Last-Name': 'lastName', 'X-Account-Ids': '$.accounts[*].uid' },
      },
      { path: '/public', upstream: backend.url, auth: 'none' },
    ],
  });

  const gateway = await startGateway({ config }).catch(async (error: NodeJS.ErrnoException) => {
    await Promise.all([authorizationServer.close(), seed.close(), backend.close()]);
    if (error.code === 'EADDRINUSE') throw new UsageError(`port ${port} is taken; try --port 0 for any free port`);
    throw error;
  });
  const token = await authorizationServer.mintToken('orders:read profile');
  const { clientId, clientSecret } = authorizationServer.client;
  const gw = gateway.url;

  process.stdout.write(`
tokengate demo
  authorization server  ${authorizationServer.issuer}  (oidc-provider: client credentials, introspection, revocation)
  seed-style endpoint   ${seed.validationUrl}
  sample backend        ${backend.url}
  gateway               ${gw}

A fresh access token (scope "orders:read profile") through the gateway; the backend echoes what it got:
  curl -i -H 'Authorization: Bearer ${token}' ${gw}/api/orders

The seed's sample user (non-ASCII names arrive as UTF-8):
  curl -i -H 'Authorization: Bearer ${SEED_DEMO_TOKEN}' ${gw}/store/profile

Refused calls:
  curl -i ${gw}/api/orders                                          # 401 MissingTokenError
  curl -i -H 'Authorization: Bearer made-up-token' ${gw}/api/orders  # 401 InvalidTokenError

Mint another token, or revoke one (it is refused once the 30 s cache entry expires):
  curl -s -u '${clientId}:${clientSecret}' -d grant_type=client_credentials -d 'scope=orders:read' ${authorizationServer.tokenUrl}
  curl -s -u '${clientId}:${clientSecret}' -d token=TOKEN ${authorizationServer.revocationUrl}

Ctrl-C stops all three. Gateway log lines follow.

`);

  const stop = () => {
    gateway
      .close()
      .then(() => Promise.all([authorizationServer.close(), seed.close(), backend.close()]))
      .then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return -1;
}
