/**
 * One JSON line per request, in pino's format, built by hand and written in batches: an ordinary
 * pino call per request costs more than the gateway's whole per-request budget
 * (notes/http-stack-costs.md), and most of that is the write, not the formatting. Fixed fields are
 * serialised once; per request only numbers and already-safe strings are joined, and the line is
 * encoded at once into a 64 KiB batch buffer outside the heap: pending lines kept as strings would
 * survive young-generation collections, and be copied by each. The batch goes to the destination
 * every `flushIntervalMs` or once it is full, so the destination sees one write per batch. The line never holds the token or the query string,
 * only the token's fingerprint.
 */
import { hostname } from 'node:os';
import { fingerprintOf } from '../cache/key.js';

/** What one request leaves for its log line (every face's exchange is one). */
export interface AccessEntry {
  readonly face: string;
  readonly method: string;
  readonly path: string;
  readonly requestId: string;
  readonly route: { readonly index: number } | null;
  readonly slot: {
    readonly outcome: string;
    readonly reason: string | null;
    readonly cache: string | null;
    readonly tokenKey: string | null;
    readonly validator: { readonly name: string } | null;
  };
  readonly startedAt: number;
}

export interface LineSink {
  write(text: string): unknown;
}

/** Path characters that would need escaping in JSON (Node's parser already refuses control characters). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

export class AccessLog {
  readonly #sink: LineSink;
  readonly #prefix: string;
  readonly #flushIntervalMs: number;
  readonly #batch: Buffer;
  #used = 0;
  #timer: NodeJS.Timeout | null = null;

  /** False when the log level is above info: request lines are info lines. */
  readonly #enabled: boolean;

  constructor(sink: LineSink, options: { flushIntervalMs?: number; batchBytes?: number; enabled?: boolean } = {}) {
    this.#sink = sink;
    this.#enabled = options.enabled ?? true;
    this.#prefix = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"msg":"request","reqId":"`;
    this.#flushIntervalMs = options.flushIntervalMs ?? 100;
    this.#batch = Buffer.allocUnsafeSlow(options.batchBytes ?? 64 * 1024);
  }

  write(entry: AccessEntry, status: number): void {
    if (!this.#enabled) return;
    const path = NEEDS_ESCAPE.test(entry.path) ? JSON.stringify(entry.path) : `"${entry.path}"`;
    const slot = entry.slot;
    const key = slot.tokenKey;
    const line =
      `{"level":30,"time":${Date.now()}${this.#prefix}${entry.requestId}","face":"${entry.face}","method":"${entry.method}","path":${path}` +
      `,"route":${entry.route === null ? -1 : entry.route.index},"status":${status},"outcome":"${slot.outcome}"` +
      `,"reason":${quoteOrNull(slot.reason)},"cache":${quoteOrNull(slot.cache)},"validator":${slot.validator === null ? 'null' : `"${slot.validator.name}"`}` +
      `,"fp":${key === null ? 'null' : `"${fingerprintOf(key)}"`},"ms":${Math.round((performance.now() - entry.startedAt) * 100) / 100}}\n`;
    // UTF-8 takes at most 3 bytes for a UTF-16 unit: a line that might not fit goes after the batch
    // so far, and one longer than a batch (a very long path) on its own.
    if (this.#used + line.length * 3 > this.#batch.length) {
      this.flush();
      if (line.length * 3 > this.#batch.length) return void this.#sink.write(line);
    }
    this.#used += this.#batch.write(line, this.#used, 'utf8');
    this.#timer ??= setTimeout(this.#onTimer, this.#flushIntervalMs);
  }

  /** Hands every pending line to the destination now. */
  flush(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#used === 0) return;
    const text = this.#batch.toString('utf8', 0, this.#used);
    this.#used = 0;
    this.#sink.write(text);
  }

  #onTimer = (): void => {
    this.#timer = null;
    this.flush();
  };
}

function quoteOrNull(value: string | null): string {
  return value === null ? 'null' : `"${value}"`;
}
