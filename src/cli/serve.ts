import { loadConfigFile } from '../config/load.js';
import { ConfigError, formatProblem } from '../config/problems.js';
import { startGateway } from '../gateway.js';
import { configPath, parseOptions, reportConfigError } from './args.js';

/** Runs until SIGTERM/SIGINT (drain, exit 0); SIGHUP reloads the file, keeping the old one if the new is bad. */
export async function runServe(args: string[]): Promise<number> {
  const file = configPath(parseOptions(args, { config: { type: 'string' } }).config);
  let config;
  try {
    config = await loadConfigFile(file);
  } catch (error) {
    if (reportConfigError(error)) return 1;
    throw error;
  }
  const gateway = await startGateway({ config }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') {
      throw new Error(`cannot listen on ${config.server.host}:${config.server.port} (${error.code})`);
    }
    throw error;
  });

  process.on('SIGHUP', () => {
    loadConfigFile(file)
      .then((next) => gateway.reload(next))
      .catch((error: unknown) => {
        const problems = error instanceof ConfigError ? error.problems.map(formatProblem) : [(error as Error).message];
        gateway.logger.error({ file, problems }, 'configuration refused; the previous one stays in force');
      });
  });
  const stop = (signal: NodeJS.Signals) => {
    gateway.logger.info({ signal }, 'draining');
    gateway.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return -1;
}
