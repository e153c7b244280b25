/** Child processes for the benchmark: each contender and stub runs as its own process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
export { freePort } from '../../test/fixtures/ports.js';


export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  stop(): Promise<void>;
}

export function startChild(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; stdout?: 'ignore' | 'inherit' | number } = {}): Child {
  const child = spawn(command, args, { stdio: ['ignore', options.stdout ?? 'ignore', 'inherit'], env: { ...process.env, ...options.env } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/** Waits until something answers HTTP on `url` (any status). */
export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${url} did not come up: ${(error as Error).message}`, { cause: error });
      await sleep(50);
    }
  }
}

/** CPU seconds (user + system) a process and its children (nginx workers) have used so far, from /proc. */
export async function cpuSeconds(pid: number): Promise<number> {
  const { readFile, readdir } = await import('node:fs/promises');
  const stat = async (id: number | string) => {
    try {
      const text = await readFile(`/proc/${id}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / 100 };
    } catch {
      return null;
    }
  };
  const own = await stat(pid);
  if (own === null) return Number.NaN;
  let total = own.seconds;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = await stat(entry);
    if (child !== null && child.ppid === pid) total += child.seconds;
  }
  return total;
}
