/**
 * `tokengate <command>`: argument parsing and exit codes only; the work is elsewhere.
 */
import { readFileSync } from 'node:fs';
import { EXIT_USAGE } from './args.js';
import { CHECK_HELP, runCheck } from './check.js';
import { DEMO_HELP, runDemo } from './demo.js';
import { PROBE_HELP, runProbe } from './probe.js';
import { runServe, SERVE_HELP } from './serve.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const USAGE = `usage: tokengate <command> [options]

commands:
  serve   run the gateway                                  (serve --help)
  check   validate a configuration file                    (check --help)
  probe   ask a validator once and explain its answer      (probe --help)
  demo    run a local authorization server, backend and gateway (demo --help)

  tokengate --version   print the version
  tokengate --help      print this text

--config defaults to $TOKENGATE_CONFIG, then ./tokengate.yaml
`;

const COMMANDS: Record<string, { run: (args: string[]) => Promise<number>; help: string }> = {
  serve: { run: runServe, help: SERVE_HELP },
  check: { run: runCheck, help: CHECK_HELP },
  probe: { run: runProbe, help: PROBE_HELP },
  demo: { run: runDemo, help: DEMO_HELP },
};

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`tokengate ${VERSION}\n`);
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === 'help' && args[0] !== undefined && COMMANDS[args[0]] !== undefined) {
      process.stdout.write(COMMANDS[args[0]].help);
      return 0;
    }
    (command === undefined ? process.stderr : process.stdout).write(USAGE);
    return command === undefined ? EXIT_USAGE : 0;
  }
  const entry = COMMANDS[command];
  if (entry === undefined) {
    process.stderr.write(`tokengate: unknown command "${command}"\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    return await entry.run(args);
  } catch (error) {
    // By name: the demo runs its own copy of the sources through tsx.
    const name = error instanceof Error ? error.name : '';
    if (name === 'HelpRequested') {
      process.stdout.write((error as { text: string }).text);
      return 0;
    }
    if (name === 'UsageError') {
      process.stderr.write(`tokengate ${command}: ${(error as Error).message}\n(tokengate ${command} --help for the options)\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`tokengate ${command}: ${(error as Error).message}\n`);
    if (process.env.TOKENGATE_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// serve and demo keep running until a signal; the others end here.
if (code !== -1) process.exitCode = code;
