/**
 * `demo` is a development-time tool, not part of the shipped gateway: it runs a real OAuth 2.0
 * authorization server (oidc-provider), which is a dev dependency. It is loaded from the checkout's
 * `demo/` folder through tsx only when asked for, so `npm ci --omit=dev` + `serve` never needs it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DEMO_ENTRY = new URL('../../demo/main.ts', import.meta.url);

export async function runDemo(args: string[]): Promise<number> {
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
