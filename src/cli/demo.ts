/**
 * `demo` is a development-time tool, not part of the shipped gateway: it runs a real OAuth 2.0
 * authorization server (oidc-provider), which is a dev dependency. It is loaded from the checkout's
 * `demo/` folder through tsx only when asked for, so `npm ci --omit=dev` + `serve` never needs it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commandHelp, parseOptions } from './args.js';

export const DEMO_HELP = commandHelp(
  'demo [--port PORT]',
  'Starts, on 127.0.0.1, a real OAuth 2.0 authorization server (oidc-provider), a seed-style validation endpoint, a sample backend and the gateway, writes a ready demo.yaml and prints curl lines that work when pasted. Ctrl-C stops it all. Needs the development dependencies (npm ci).',
  [['--port PORT', 'the gateway\'s port (default 8080; 0: any free port); the admin port is PORT + 1000 (9080), or any free one']],
);

const DEMO_ENTRY = new URL('../../demo/main.ts', import.meta.url);

export async function runDemo(args: string[]): Promise<number> {
  parseOptions(args, { port: { type: 'string' } }, DEMO_HELP); // --help, and unknown options, before anything loads
  let register: (() => unknown) | undefined;
  try {
    ({ register } = (await import('tsx/esm/api')) as { register: () => unknown });
  } catch {
    register = undefined;
  }
  if (register === undefined || !existsSync(fileURLToPath(DEMO_ENTRY))) {
    process.stderr.write('tokengate demo: the demo runs from a checkout with its development dependencies; run `npm ci` (without --omit=dev) in the repository first\n');
    return 1;
  }
  register();
  const demo = (await import(DEMO_ENTRY.href)) as { runDemo(args: string[]): Promise<number> };
  return demo.runDemo(args);
}
