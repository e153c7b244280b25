/**
 * The references: the least a Node proxy can do, no auth, keep-alive, headers passed as they came
 * but for the hop-by-hop ones, body streamed back.
 *
 * - `request` (the and notes/http-stack-costs.md's baseline): node:http in, undici
 *   `Pool.request` out, the answer body piped back.
 * - `dispatch`: undici's lowest-level `Pool.dispatch`, the one tokengate uses; 12–19 % faster.
 * - `two-hop`: the least a Node gateway without a cache can do: per request one `dispatch` to the
 *   validator with the request's Authorization (its answer read and dropped, a 200 let through),
 *   then the `dispatch` proxy. The runtime's limit for caching off.
 *
 *   node --import tsx bench/bare-proxy.ts PORT UPSTREAM_URL request|dispatch|two-hop [VALIDATOR_URL]
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const [port, upstream, api, validatorUrl] = [Number(process.argv[2]), process.argv[3], process.argv[4] ?? 'request', process.argv[5]];
const pool = new Pool(upstream, { pipelining: 1, keepAliveTimeout: 30_000 });
const validator = validatorUrl === undefined ? null : new URL(validatorUrl);
const validatorPool = validator === null ? null : new Pool(validator.origin, { pipelining: 1, keepAliveTimeout: 30_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'te', 'upgrade', 'proxy-connection']);

function requestHeaders(req: IncomingMessage): string[] {
  const headers: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i].toLowerCase())) headers.push(raw[i], raw[i + 1]);
  return headers;
}

const hasBody = (req: IncomingMessage) => req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;

class Relay implements Dispatcher.DispatchHandler {
  constructor(private readonly res: ServerResponse) {}
  onConnect(): void {}
  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    const headers: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toString('latin1');
      if (!HOP.has(name.toLowerCase())) headers.push(name, raw[i + 1].toString('latin1'));
    }
    this.res.writeHead(status, headers);
    this.res.on('drain', resume);
    return true;
  }
  onData(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }
  onComplete(): void {
    this.res.end();
  }
  onError(): void {
    if (this.res.headersSent) this.res.destroy();
    else this.res.writeHead(502).end();
  }
}

/** The validator's answer, read and dropped; then the request is proxied on a 200, refused otherwise. */
class Check implements Dispatcher.DispatchHandler {
  #status = 0;
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}
  onConnect(): void {}
  onHeaders(status: number): boolean {
    this.#status = status;
    return true;
  }
  onData(): boolean {
    return true;
  }
  onComplete(): void {
    if (this.#status === 200) dispatchProxy(this.req, this.res);
    else this.res.writeHead(401).end();
  }
  onError(): void {
    this.res.writeHead(503).end();
  }
}

function dispatchProxy(req: IncomingMessage, res: ServerResponse): void {
  pool.dispatch({ method: req.method!, path: req.url!, headers: requestHeaders(req), body: hasBody(req) ? req : null }, new Relay(res));
}

async function viaRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const { statusCode, headers, body } = await pool.request({ method: req.method as Dispatcher.HttpMethod, path: req.url!, headers: requestHeaders(req), body: hasBody(req) ? req : null });
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP.has(name)) out[name] = value;
    res.writeHead(statusCode, out);
    body.pipe(res);
  } catch {
    if (res.headersSent) res.destroy();
    else res.writeHead(502).end();
  }
}

createServer((req, res) => {
  if (api === 'dispatch') dispatchProxy(req, res);
  else if (api === 'two-hop') validatorPool!.dispatch({ method: 'GET', path: validator!.pathname + validator!.search, headers: ['authorization', req.headers.authorization ?? ''] }, new Check(req, res));
  else void viaRequest(req, res);
}).listen(port, '127.0.0.1');

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
