/**
 * `serve`: one gateway process, or with `--workers N` a primary and N worker processes sharing the
 * port (node:cluster). Signals (SPEC section 2): SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the
 * file, and a bad new file is refused with a log line while the old configuration stays.
 */
import cluster from 'node:cluster';
import type { GatewayConfig } from '../config/compile.js';
import { loadConfigFile } from '../config/load.js';
import { runPrimary, serveAsWorker } from './cluster.js';
import { handleSignals, startOrExplain } from './gateway-process.js';
import { configPath, parseOptions, reportConfigError, UsageError } from './args.js';

export async function runServe(args: string[]): Promise<number> {
  const options = parseOptions(args, { config: { type: 'string' }, workers: { type: 'string' } });
  const file = configPath(options.config);
  const workers = options.workers === undefined ? 1 : Number(options.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new UsageError('--workers must be a whole number from 1 to 256');

  let config: GatewayConfig;
  try {
    config = await loadConfigFile(file);
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
  const gateway = await startOrExplain(config, {});
  handleSignals(gateway, file);
  return -1;
}
