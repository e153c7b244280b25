/**
 * tokengate as Express middleware (SPEC 7.3): a refused call gets the gateway's own answer, an
 * allowed one reaches the route with its decision on `req.tokengate`.
 *
 * Against `bin/tokengate demo`'s seed-style endpoint (the demo prints its URL; its api_key is
 * demo-api-key and its sample user's token 8dbd30ed-2e19-42cf-9b86-demo), after `npm run build`:
 *
 *   TOKENGATE_VALIDATOR_URL=http://127.0.0.1:PORT/uat/se/storel/GetUserDetails node --import tsx examples/library-express.ts
 *   curl -i -H 'Authorization: Bearer 8dbd30ed-2e19-42cf-9b86-demo' http://127.0.0.1:3000/profile
 *   curl -i http://127.0.0.1:3000/profile   # 401 MissingTokenError, exactly as the gateway answers
 */
import express from 'express';
import { createTokenValidator } from 'tokengate';
import { tokengate } from 'tokengate/express';

// The configuration file's keys; ${NAME} is read from the environment (a ConfigError names what is wrong).
const tg = await createTokenValidator({
  validators: { seed: { url: '${TOKENGATE_VALIDATOR_URL}', query: { api_key: '${TOKENGATE_API_KEY:-demo-api-key}' } } },
}).catch((error: unknown) => {
  console.error(String(error));
  process.exit(1);
});

const app = express();
app.get('/profile', tokengate(tg, { identityHeaders: { 'X-User-Id': 'uid', 'X-User-Last-Name': 'lastName' } }), (req, res) => {
  const decision = req.tokengate!;
  // Identity values are what the gateway would send: UTF-8 bytes, one char per byte.
  const lastName = Buffer.from(decision.identity['x-user-last-name'] ?? '', 'latin1').toString('utf8');
  res.json({ uid: decision.identity['x-user-id'], lastName, email: decision.claims?.email });
});

const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}/profile`));
process.once('SIGINT', () => server.close(() => void tg.close()));
