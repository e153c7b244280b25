/**
 * Drives one contender with one workload: wrk (1 thread, 50 connections) when installed, else
 * autocannon. Workloads: `hot` (one token), `pool` (10,000 tokens with Zipf-like
 * popularity: token k is chosen with probability proportional to 1/k), `invalid` (1,000 tokens the
 * validator refuses, uniformly).
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export type Workload = 'hot' | 'pool' | 'invalid';

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly non2xx: number;
}

export interface LoadOptions {
  readonly url: string;
  readonly workload: Workload;
  readonly seconds: number;
  readonly connections: number;
  readonly scratchDir: string;
}

const POOL_SIZE = 10_000;
const INVALID_POOL = 1_000;

export function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version exits 1 after printing its version; only a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

const WRK_SCRIPT = `
local mode = os.getenv("TG_WORKLOAD")
local n = ${POOL_SIZE}
local cdf = {}
if mode == "hot" then
  wrk.headers["Authorization"] = "Bearer tok-1"
elseif mode == "pool" then
  local s = 0
  for k = 1, n do s = s + 1 / k; cdf[k] = s end
  for k = 1, n do cdf[k] = cdf[k] / s end
  request = function()
    local u = math.random()
    local lo, hi = 1, n
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if cdf[mid] < u then lo = mid + 1 else hi = mid end
    end
    return wrk.format(nil, nil, { Authorization = "Bearer tok-" .. lo })
  end
elseif mode == "invalid" then
  request = function()
    return wrk.format(nil, nil, { Authorization = "Bearer bad-" .. math.random(1, ${INVALID_POOL}) })
  end
end
`;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  return hasWrk() ? runWrk(options) : runAutocannon(options);
}

async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const script = join(options.scratchDir, 'workload.lua');
  writeFileSync(script, WRK_SCRIPT);
  const { stdout } = await promisify(execFile)(
    'wrk',
    ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency', '-s', script, `${options.url}/orders/42`],
    { env: { ...process.env, TG_WORKLOAD: options.workload }, maxBuffer: 1 << 20 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  return { requestsPerSecond: rps, p50Ms: wrkPercentile(stdout, '50%'), p99Ms: wrkPercentile(stdout, '99%'), requests, non2xx };
}

function wrkPercentile(stdout: string, label: string): number {
  const match = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(stdout);
  if (match === null) return Number.NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const { default: autocannon } = await import('autocannon');
  const cdf: number[] = [];
  let sum = 0;
  for (let k = 1; k <= POOL_SIZE; k++) cdf.push((sum += 1 / k));
  const pick = (): number => {
    const u = Math.random() * sum;
    let lo = 0;
    let hi = POOL_SIZE - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  const token = (): string => {
    switch (options.workload) {
      case 'hot':
        return 'tok-1';
      case 'pool':
        return `tok-${pick()}`;
      case 'invalid':
        return `bad-${1 + Math.floor(Math.random() * INVALID_POOL)}`;
    }
  };
  const result = await autocannon({
    url: `${options.url}/orders/42`,
    connections: options.connections,
    duration: options.seconds,
    requests: [
      {
        setupRequest: (request: { headers?: Record<string, string> }) => {
          request.headers = { ...request.headers, authorization: `Bearer ${token()}` };
          return request;
        },
      },
    ],
  } as Parameters<typeof autocannon>[0]);
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
  };
}
