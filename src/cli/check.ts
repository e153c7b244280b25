import { loadConfigFile } from '../config/load.js';
import { configPath, parseOptions, reportConfigError } from './args.js';

export async function runCheck(args: string[]): Promise<number> {
  const file = configPath(parseOptions(args, { config: { type: 'string' } }).config);
  try {
    const config = await loadConfigFile(file);
    process.stdout.write(`${file}: valid (${config.routes.length} route(s), ${config.validators.size} validator(s))\n`);
    return 0;
  } catch (error) {
    if (reportConfigError(error)) return 1;
    throw error;
  }
}
