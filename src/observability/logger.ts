/**
 * pino for everything but the per-request line (see access-log.ts). Authorization and cookies are
 * redacted should any request object ever be logged; tokens are never passed to the logger at all.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export interface LogOutput {
  readonly logger: Logger;
  /** The same destination, for the hand-built access lines. */
  readonly sink: DestinationStream;
  flush(): void;
}

export function createLogOutput(destination?: DestinationStream, level = process.env.TOKENGATE_LOG_LEVEL ?? 'info'): LogOutput {
  const sink = destination ?? pino.destination({ dest: 1, sync: false });
  const logger = pino(
    {
      level,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'token'], censor: '[redacted]' },
    },
    sink,
  );
  return {
    logger,
    sink,
    flush: () => {
      const flushable = sink as DestinationStream & { flushSync?: () => void };
      try {
        flushable.flushSync?.();
      } catch {
        // Not yet ready (nothing written): nothing to flush.
      }
    },
  };
}
