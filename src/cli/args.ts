/** Shared command-line helpers: option parsing with clear errors and generated help, and where the config file is. */
import { parseArgs } from 'node:util';
import { ConfigError, formatProblem } from '../config/problems.js';

/** A wrong command line: printed with a pointer to `--help`, exit 64 (EX_USAGE, sysexits.h). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--help` was asked for: its text is printed on stdout, exit 0. */
export class HelpRequested extends Error {
  override name = 'HelpRequested';
  readonly text: string;
  constructor(text: string) {
    super('help');
    this.text = text;
  }
}

export const EXIT_USAGE = 64;

type OptionSpec = Record<string, { type: 'string' | 'boolean'; default?: string }>;
type Values<T extends OptionSpec> = { [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean | undefined : string | undefined };

/** The text of `tokengate <command> --help`. */
export function commandHelp(usage: string, summary: string, options: readonly (readonly [string, string])[], footer = ''): string {
  const width = Math.max(...options.map(([flag]) => flag.length), '--help'.length) + 2;
  const lines = [...options, ['--help', 'show this help'] as const].map(([flag, what]) => `  ${flag.padEnd(width)}${what}`);
  return `usage: tokengate ${usage}\n\n${summary}\n\noptions:\n${lines.join('\n')}\n${footer === '' ? '' : `\n${footer}\n`}`;
}

export function parseOptions<T extends OptionSpec>(args: string[], options: T, help: string): Values<T> {
  if (args.includes('--help') || args.includes('-h')) throw new HelpRequested(help);
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true }).values as unknown as Values<T>;
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
