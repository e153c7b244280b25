/**
 * Node stand-ins for the benchmark's backend and validator, run as their own process: used for the
 * validator with latency (nginx cannot delay an answer) and for both when nginx is not installed.
 * Tokens `tok-<n>` are valid (200 + the seed's user info, exp far ahead), anything else gets the
 * seed's 401. `GET /_stats` on the validator port reports the validator calls and the backend's log.
 *
 *   node --import tsx bench/stub-server.ts BACKEND_PORT VALIDATOR_PORT LATENCY_MS
 */
import { createServer } from 'node:http';
import { BACKEND_BODY, USER_INFO_BODY, INVALID_BODY } from './lib/bodies.js';

const [backendPort, validatorPort, latencyMs] = process.argv.slice(2).map(Number);
let validatorCalls = 0;
/** Authorization of every request the backend served, as nginx's stub logs it ('-' when absent). */
const backendLog: string[] = [];

if (backendPort > 0) {
  createServer((req, res) => {
    backendLog.push(req.headers.authorization ?? '-');
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BACKEND_BODY.length });
    res.end(BACKEND_BODY);
  }).listen(backendPort, '127.0.0.1');
}

createServer((req, res) => {
  if (req.url === '/_stats') {
    res.end(JSON.stringify({ validatorCalls, backendLog }));
    return;
  }
  validatorCalls++;
  req.resume();
  const valid = /^Bearer tok-\d+$/.test(req.headers.authorization ?? '');
  const answer = () => {
    const body = valid ? USER_INFO_BODY : INVALID_BODY;
    res.writeHead(valid ? 200 : 401, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  };
  if (latencyMs > 0) setTimeout(answer, latencyMs);
  else answer();
}).listen(validatorPort, '127.0.0.1');
