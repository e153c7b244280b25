/**
 * tokengate in front of a plain `node:http` handler (SPEC 7.3): a refused call gets the gateway's
 * own answer and never reaches the handler; an allowed one reaches it with its decision.
 *
 * Against `bin/tokengate demo`'s seed-style endpoint (the demo prints its URL; its api_key is
 * demo-api-key and its sample user's token 8dbd30ed-2e19-42cf-9b86-demo), after `npm run build`:
 *
 *   TOKENGATE_VALIDATOR_URL=http://127.0.0.1:PORT/uat/se/storel/GetUserDetails node --import tsx examples/library-node.ts
 *   curl -i -H 'Authorization: Bearer 8dbd30ed-2e19-42cf-9b86-demo' http://127.0.0.1:3000/
 *   curl -i 'http://127.0.0.1:3000/?access_token=8dbd30ed-2e19-42cf-9b86-demo'   # tokenFrom allows the query too
 */
import { createServer } from 'node:http';
import { createTokenValidator } from 'tokengate';
import { withTokengate } from 'tokengate/node';

const tg = await createTokenValidator({
  validators: { seed: { url: '${TOKENGATE_VALIDATOR_URL}', query: { api_key: '${TOKENGATE_API_KEY:-demo-api-key}' } } },
}).catch((error: unknown) => {
  console.error(String(error));
  process.exit(1);
});

const options = { tokenFrom: ['header', 'query'], identityHeaders: { 'X-User-Id': 'uid', 'X-Account-Ids': '$.accounts[*].uid' } } as const;
const server = createServer(
  withTokengate(tg, options, (_req, res, decision) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ identity: decision.identity, firstName: decision.claims?.firstName }));
  }),
);

const port = Number(process.env.PORT ?? 3000);
server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}/`));
process.once('SIGINT', () => server.close(() => void tg.close()));
