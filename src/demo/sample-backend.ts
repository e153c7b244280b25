/**
 * A backend that answers every request with what it received: method, URL, headers (their raw
 * bytes read as UTF-8, so identity headers show as sent) and body size. It also keeps each request
 * with its raw header bytes for tests that check exactly what reached the backend.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { listen, urlOf } from '../http/listen.js';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  /** Flat raw list as received; each string holds the header's bytes one char per byte (latin1). */
  readonly rawHeaders: readonly string[];
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface SampleBackend {
  readonly url: string;
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

export interface SampleBackendOptions {
  readonly port?: number;
  /** Delay before answering (to test upstream deadlines). */
  readonly delayMs?: number;
}

export async function startSampleBackend(options: SampleBackendOptions = {}): Promise<SampleBackend> {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, headers: req.headers, body });
      const shown: Record<string, string> = {};
      for (let i = 0; i < req.rawHeaders.length; i += 2) shown[req.rawHeaders[i]!.toLowerCase()] = Buffer.from(req.rawHeaders[i + 1]!, 'latin1').toString('utf8');
      const answer = JSON.stringify({ backend: 'tokengate sample backend', method: req.method, url: req.url, headers: shown, bodyBytes: body.length }, null, 2) + '\n';
      const reply = () => {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
      };
      if (options.delayMs !== undefined && options.delayMs > 0) setTimeout(reply, options.delayMs);
      else reply();
    });
  });
  await listen(server, options.port ?? 0, '127.0.0.1');
  return {
    url: urlOf(server),
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
