/** `check`: validate a configuration; exit 0, or one line per problem naming its key path and exit 1. */
import { loadConfigFile } from '../config/load.js';
import { commandHelp, configPath, parseOptions, reportConfigError } from './args.js';

export const CHECK_HELP = commandHelp(
  'check [--config FILE]',
  'Validates a configuration file (YAML or JSON) without starting anything.',
  [['--config FILE', 'the configuration (default $TOKENGATE_CONFIG, then ./tokengate.yaml)']],
  'Exit status: 0 valid; 1 invalid, with one line per problem naming its key (routes[0].upstream: …).',
);

export async function runCheck(args: string[]): Promise<number> {
  const file = configPath(parseOptions(args, { config: { type: 'string' } }, CHECK_HELP).config);
  try {
    const config = await loadConfigFile(file);
    process.stdout.write(`${file}: valid (${config.routes.length} route(s), ${config.validators.size} validator(s))\n`);
    return 0;
  } catch (error) {
    if (reportConfigError(error)) return 1;
    throw error;
  }
}
