/**
 * pino for everything but the per-request line (see access-log.ts). Authorization and cookies are
 * redacted should any request object ever be logged; tokens are never passed to the logger at all.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export interface LogOutput {
  readonly logger: Logger;
  /** The same destination, for the hand-built access lines. */
  readonly sink: DestinationStream;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** TOKENGATE_LOG_LEVEL (default info), checked: a wrong value is a clear error, not a pino internal one. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const level = env.TOKENGATE_LOG_LEVEL ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level)) throw new Error(`TOKENGATE_LOG_LEVEL must be one of ${LEVELS.join(', ')}; it is "${level}"`);
  return level;
}

export function createLogOutput(destination?: DestinationStream, level = logLevelFromEnv()): LogOutput {
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
  };
}
