/**
 * tokengate as a Fastify plugin (SPEC 7.3): it guards the routes of the scope it is registered in;
 * a refused call gets the gateway's own answer, an allowed one has its decision on
 * `request.tokengate`.
 *
 * Against `bin/tokengate demo`'s seed-style endpoint (the demo prints its URL; its api_key is
 * demo-api-key and its sample user's token 8dbd30ed-2e19-42cf-9b86-demo), after `npm run build`:
 *
 *   TOKENGATE_VALIDATOR_URL=http://127.0.0.1:PORT/uat/se/storel/GetUserDetails node --import tsx examples/library-fastify.ts
 *   curl -i -H 'Authorization: Bearer 8dbd30ed-2e19-42cf-9b86-demo' http://127.0.0.1:3000/profile
 *   curl -i http://127.0.0.1:3000/health    # not guarded: registered outside the plugin's scope
 */
import Fastify from 'fastify';
import { createTokenValidator } from 'tokengate';
import tokengate from 'tokengate/fastify';

const tg = await createTokenValidator({
  validators: { seed: { url: '${TOKENGATE_VALIDATOR_URL}', query: { api_key: '${TOKENGATE_API_KEY:-demo-api-key}' } } },
}).catch((error: unknown) => {
  console.error(String(error));
  process.exit(1);
});

const app = Fastify({ logger: true });
app.get('/health', async () => ({ ok: true }));
await app.register(async (api) => {
  await api.register(tokengate, { validator: tg, identityHeaders: { 'X-User-Id': 'uid' } });
  api.get('/profile', async (request) => ({ uid: request.tokengate?.identity['x-user-id'], claims: request.tokengate?.claims }));
});
app.addHook('onClose', () => tg.close());

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
process.once('SIGINT', () => void app.close());
