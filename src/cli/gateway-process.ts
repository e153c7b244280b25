/** Running one gateway as a process: start it with a clear error, and the signals of SPEC section 2. */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/compile.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigError, formatProblem } from '../config/problems.js';
import type { Gateway } from '../gateway.js';

/**
 * The one reload path (SIGHUP, in a single process, a worker, or the primary that checks the file
 * before passing the signal on): the file read and checked again; `null`, with the refusal logged,
 * when it cannot be used, so that the running configuration stays.
 */
export async function reloadedConfig(file: string, log: Logger): Promise<GatewayConfig | null> {
  try {
    return await loadConfigFile(file);
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems.map(formatProblem) : [(error as Error).message];
    log.error({ file, problems }, 'configuration refused; the previous one stays in force');
    return null;
  }
}

/** Reload on SIGHUP, drain on SIGTERM/SIGINT: the same in a single process and in a worker. */
export function handleSignals(gateway: Gateway, file: string): void {
  process.on('SIGHUP', () => {
    void reloadedConfig(file, gateway.logger).then((next) => (next === null ? undefined : gateway.reload(next)));
  });
  const stop = (signal: NodeJS.Signals) => {
    gateway.lifecycle('draining', { signal });
    gateway.close().then(
      () => exitWhenIdle(0),
      () => exitWhenIdle(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/**
 * Ends the process once nothing is left to do, so that log lines still being written go out in
 * order (process.exit() would make pino write its buffer synchronously, ahead of a write in
 * flight). A cluster worker lets go of its channel to the primary; anything that still holds the
 * process is cut off after 2 s.
 */
function exitWhenIdle(code: number): void {
  process.exitCode = code;
  if (process.connected) process.disconnect?.();
  setTimeout(() => process.exit(code), 2_000).unref();
}
