/**
 * `tokengate <command>`: argument parsing and exit codes only; the work is elsewhere.
 */
import { runCheck } from './check.js';
import { runDemo } from './demo.js';
import { runProbe } from './probe.js';
import { runServe } from './serve.js';

const USAGE = `usage: tokengate <command> [options]

commands:
  serve  [--config FILE]                                  run the gateway
  check  [--config FILE]                                  validate a configuration (exit 0 valid, 1 not)
  probe  [--config FILE] --validator NAME --token TOKEN   ask a validator once and explain its answer
                                                          (--token - reads the token from stdin;
                                                           exit 0 valid, 1 invalid, 2 unavailable)
  demo   [--port PORT]                                    run a local authorization server, backend and gateway

--config defaults to $TOKENGATE_CONFIG, then ./tokengate.yaml
`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  serve: runServe,
  check: runCheck,
  probe: runProbe,
  demo: runDemo,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    process.stderr.write(`tokengate: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await run(args);
  } catch (error) {
    // By name: the demo runs its own copy of the sources through tsx.
    if (error instanceof Error && error.name === 'UsageError') {
      process.stderr.write(`tokengate ${command}: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`tokengate ${command}: ${(error as Error).message}\n`);
    if (process.env.TOKENGATE_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// serve and demo keep running until a signal; the others end here.
if (code !== -1) process.exitCode = code;
