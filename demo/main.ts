/**
 * `bin/tokengate demo`, a development-time tool (it needs the dev dependencies: oidc-provider, and
 * tsx to run this file): a real OAuth 2.0 authorization server (oidc-provider: client credentials,
 * RFC 7662 introspection, RFC 7009 revocation), a seed-style validation endpoint, a sample backend
 * and the gateway in front of them, all on 127.0.0.1, with an admin port. It writes the gateway's
 * configuration as a ready `demo.yaml` (so that `check`, `probe` and `serve` can be tried on it
 * while the demo runs) and prints curl lines that work when pasted. Ctrl-C stops all.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseOptions, UsageError } from '../src/cli/args.js';
import { buildConfig } from '../src/config/load.js';
import { startGateway } from '../src/gateway.js';
import { startAuthorizationServer } from '../test/fixtures/authorization-server.js';
import { startSampleBackend } from '../test/fixtures/sample-backend.js';
import { SEED_USER_INFO, startSeedEndpoint } from '../test/fixtures/seed-endpoint.js';

const SEED_DEMO_TOKEN = '8dbd30ed-2e19-42cf-9b86-demo';
const SEED_API_KEY = 'demo-api-key';

/** `port` when it is free on 127.0.0.1, else any free port (0). */
function freeOr(port: number): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(0));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(port)));
  });
}

export async function runDemo(args: string[]): Promise<number> {
  const options = parseOptions(args, { port: { type: 'string', default: '8080' } }, '');
  const port = Number(options.port);
  if (!/^\d+$/.test(options.port ?? '') || port > 65535) throw new UsageError('--port must be a port number (0 for any free port)');
  // Off the ports the examples use (8081, 9091): the demo and an example can run side by side.
  const adminPort = port === 0 || port + 1000 > 65535 ? 0 : await freeOr(port + 1000);

  const authorizationServer = await startAuthorizationServer();
  const seed = await startSeedEndpoint({
    apiKey: SEED_API_KEY,
    // The seed's sample user, with an exp an hour ahead so the gateway's exp check passes.
    users: new Map([[SEED_DEMO_TOKEN, { ...SEED_USER_INFO, exp: Math.floor(Date.now() / 1000) + 3600 }]]),
  });
  const backend = await startSampleBackend();
  const stopHelpers = () => Promise.all([authorizationServer.close(), seed.close(), backend.close()]);

  const document = {
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
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
      { path: '/api', upstream: backend.url, validator: 'demo-as', requiredScopes: ['orders:read'], identityHeaders: { 'X-Client-Id': 'client_id', 'X-Scopes': 'scope' } },
      {
        path: '/store',
        upstream: backend.url,
        validator: 'mashery',
        identityHeaders: { 'X-User-Id': 'uid', 'X-User-Email': '$.email', 'X-User-Last-Name': 'lastName', 'X-Account-Ids': '$.accounts[*].uid' },
      },
      { path: '/public', upstream: backend.url, auth: 'none' },
    ],
  };

  const gateway = await startGateway({ config: buildConfig(document) }).catch(async (error: Error) => {
    await stopHelpers();
    throw new UsageError(`${error.message}; try --port 0 for any free port`);
  });
  const gw = gateway.url;
  const admin = gateway.adminUrl!;
  // The configuration as a file, with the ports really taken, so every command can be tried on it.
  const file = join(mkdtempSync(join(tmpdir(), 'tokengate-demo-')), 'demo.yaml');
  const written = { ...document, server: { ...document.server, port: Number(new URL(gw).port) }, admin: { ...document.admin, port: Number(new URL(admin).port) } };
  writeFileSync(file, `# Written by \`bin/tokengate demo\`: the running demo's gateway configuration (valid while the demo runs).\n${stringify(written)}`);

  const token = await authorizationServer.mintToken('orders:read profile');
  const { clientId, clientSecret } = authorizationServer.client;

  process.stdout.write(`
tokengate demo
  authorization server  ${authorizationServer.issuer}  (oidc-provider: client credentials, introspection, revocation)
    introspection       ${authorizationServer.introspectionUrl}  (client ${clientId})
  seed-style endpoint   ${seed.validationUrl}?api_key=${SEED_API_KEY}
  sample backend        ${backend.url}
  gateway               ${gw}
  admin                 ${admin}  (/healthz /readyz /metrics, POST /revoke)
  configuration         ${file}

A fresh access token (scope "orders:read profile") through the gateway; the backend echoes what it got:
  curl -i -H 'Authorization: Bearer ${token}' ${gw}/api/orders

The seed's sample user (non-ASCII names arrive as UTF-8):
  curl -i -H 'Authorization: Bearer ${SEED_DEMO_TOKEN}' ${gw}/store/profile

Refused calls:
  curl -i ${gw}/api/orders                                          # 401 MissingTokenError
  curl -i -H 'Authorization: Bearer made-up-token' ${gw}/api/orders  # 401 InvalidTokenError

What the validator says about a token, and what the gateway would make of it:
  bin/tokengate probe --config ${file} --validator demo-as --token ${token}

The admin port: metrics, and forgetting a token everywhere:
  curl -s ${admin}/metrics | grep tokengate_requests_total
  curl -s -X POST -d '{"token":"${token}"}' ${admin}/revoke

Mint another token, or revoke one at the authorization server (refused once the 30 s cache entry expires):
  curl -s -u '${clientId}:${clientSecret}' -d grant_type=client_credentials -d 'scope=orders:read' ${authorizationServer.tokenUrl}
  curl -s -u '${clientId}:${clientSecret}' -d token=TOKEN ${authorizationServer.revocationUrl}

Your own configuration: start from ${file} or examples/, check it, serve it:
  bin/tokengate check --config ${file}

Ctrl-C stops all of it. Gateway log lines follow.

`);

  const stop = () => {
    gateway
      .close()
      .then(stopHelpers)
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return -1;
}
