/** Running one gateway as a process: start it with a clear error, and the signals of SPEC section 2. */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/compile.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigError, formatProblem } from '../config/problems.js';
import { startGateway, type Gateway } from '../gateway.js';

export async function startOrExplain(config: GatewayConfig, extra: { admin?: boolean; logBindings?: Record<string, unknown> }): Promise<Gateway> {
  return startGateway({ config, ...extra }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') {
      throw new Error(`cannot listen on ${config.server.host}:${config.server.port} (${error.code})`);
    }
    throw error;
  });
}

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
    gateway.logger.info({ signal }, 'draining');
    gateway.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
