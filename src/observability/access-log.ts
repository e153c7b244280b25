/**
 * One JSON line per request, in pino's format, built by hand: an ordinary pino call per request
 * costs more than the gateway's whole per-request budget (notes/http-stack-costs.md). Fixed fields
 * are serialised once; per request only numbers and already-safe strings are joined. The line
 * never holds the token or the query string, only the token's fingerprint.
 */
import { hostname } from 'node:os';

export interface AccessRecord {
  readonly method: string;
  readonly path: string;
  readonly requestId: string;
  readonly routeIndex: number;
  readonly status: number;
  readonly outcome: string;
  readonly reason: string | null;
  readonly cache: string | null;
  readonly fingerprint: string | null;
  readonly validator: string | null;
  readonly ms: number;
}

export interface LineSink {
  write(line: string): unknown;
}

/** Path characters that would need escaping in JSON (Node's parser already refuses control characters). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

export class AccessLog {
  readonly #sink: LineSink;
  readonly #prefix: string;

  constructor(sink: LineSink) {
    this.#sink = sink;
    this.#prefix = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"msg":"request","reqId":"`;
  }

  write(r: AccessRecord): void {
    const path = NEEDS_ESCAPE.test(r.path) ? JSON.stringify(r.path) : `"${r.path}"`;
    this.#sink.write(
      `{"level":30,"time":${Date.now()}${this.#prefix}${r.requestId}","method":"${r.method}","path":${path},"route":${r.routeIndex}` +
        `,"status":${r.status},"outcome":"${r.outcome}","reason":${quoteOrNull(r.reason)},"cache":${quoteOrNull(r.cache)}` +
        `,"validator":${quoteOrNull(r.validator)},"fp":${quoteOrNull(r.fingerprint)},"ms":${Math.round(r.ms * 100) / 100}}\n`,
    );
  }
}

function quoteOrNull(value: string | null): string {
  return value === null ? 'null' : `"${value}"`;
}
