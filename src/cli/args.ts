/** Shared command-line helpers: option parsing with clear errors, and where the config file is. */
import { parseArgs } from 'node:util';
import { ConfigError, formatProblem } from '../config/problems.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

type StringOptions = Record<string, { type: 'string'; default?: string }>;

export function parseOptions<T extends StringOptions>(args: string[], options: T): { [K in keyof T]: string | undefined } {
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true }).values as unknown as { [K in keyof T]: string | undefined };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** SPEC section 2: `--config`, then `$TOKENGATE_CONFIG`, then `./tokengate.yaml`. */
export function configPath(option: string | undefined): string {
  return option ?? process.env.TOKENGATE_CONFIG ?? 'tokengate.yaml';
}

/** One line per problem, naming its path; `true` when `error` was a configuration error. */
export function reportConfigError(error: unknown): boolean {
  if (!(error instanceof ConfigError)) return false;
  for (const problem of error.problems) process.stderr.write(`${formatProblem(problem)}\n`);
  return true;
}
