/**
 * The least a forward-auth decision endpoint can do, for the benchmark's yardstick: `Bearer tok-<n>`
 * is allowed (200, no body, two identity headers), anything else is 401. No validator, no cache,
 * no checks: what nginx auth_request costs with the cheapest possible answer behind it.
 *
 *   node --import tsx bench/decision-stub.ts PORT
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const ALLOWED = ['content-length', '0', 'x-user-id', 'abcd23456', 'x-user-email', 'jason.borne@marketplace.se'];
const DENIED = ['content-length', '0', 'www-authenticate', 'Bearer realm="stub", error="invalid_token"'];

createServer((req, res) => {
  const valid = /^Bearer tok-\d+$/.test(req.headers.authorization ?? '');
  res.writeHead(valid ? 200 : 401, valid ? ALLOWED : DENIED);
  res.end();
}).listen(port, '127.0.0.1');
