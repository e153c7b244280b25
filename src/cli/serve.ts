/**
 * `serve`: one gateway process, or with `--workers N` a primary and N worker processes sharing the
 * port (node:cluster). Signals (SPEC section 2): SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the
 * file, and a bad new file is refused with a log line while the old configuration stays.
 */
import cluster from 'node:cluster';
import type { GatewayConfig } from '../config/compile.js';
import { loadConfigFile } from '../config/load.js';
import { runPrimary, serveAsWorker } from './cluster.js';
import { startGateway } from '../gateway.js';
import { logLevelFromEnv } from '../observability/logger.js';
import { handleSignals } from './gateway-process.js';
import { commandHelp, configPath, parseOptions, reportConfigError, UsageError } from './args.js';

export const SERVE_HELP = commandHelp(
  'serve [--config FILE] [--workers N] [--host HOST] [--port PORT]',
  'Runs the gateway. Logs JSON lines to stdout; SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the file.',
  [
    ['--config FILE', 'the configuration (default $TOKENGATE_CONFIG, then ./tokengate.yaml)'],
    ['--workers N', 'N worker processes sharing the port (default 1: one process)'],
    ['--host HOST', "listen on HOST instead of the configuration's server.host"],
    ['--port PORT', "listen on PORT instead of server.port (0: any free port)"],
  ],
  'Exit status: 0 after a drain; 1 when the configuration is refused or the gateway cannot listen; 64 usage error.',
);

export async function runServe(args: string[]): Promise<number> {
  const options = parseOptions(args, { config: { type: 'string' }, workers: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } }, SERVE_HELP);
  const file = configPath(options.config);
  logLevelFromEnv(); // a wrong TOKENGATE_LOG_LEVEL is refused before anything starts
  const workers = options.workers === undefined ? 1 : Number(options.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new UsageError('--workers must be a whole number from 1 to 256');
  const port = options.port === undefined ? undefined : Number(options.port);
  if (port !== undefined && (!/^\d+$/.test(options.port!) || port > 65535)) throw new UsageError('--port must be a port number from 0 to 65535');
  if (options.host === '') throw new UsageError('--host must not be empty');

  let config: GatewayConfig;
  try {
    config = withListenOverride(await loadConfigFile(file), options.host, port);
  } catch (error) {
    if (reportConfigError(error)) return 1;
    throw error;
  }
  if (cluster.isWorker) {
    await serveAsWorker(file, config);
    return -1;
  }
  if (workers > 1) {
    await runPrimary(file, config, workers);
    return -1;
  }
  const gateway = await startGateway({ config });
  handleSignals(gateway, file);
  return -1;
}

/** `--host` / `--port` win over the file's `server.host` / `server.port`. */
function withListenOverride(config: GatewayConfig, host: string | undefined, port: number | undefined): GatewayConfig {
  if (host === undefined && port === undefined) return config;
  return Object.freeze({ ...config, server: Object.freeze({ ...config.server, host: host ?? config.server.host, port: port ?? config.server.port }) });
}
