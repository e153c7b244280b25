/** A configuration problem: where it is (`routes[0].upstream`) and what is wrong with it. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

export function formatProblem(problem: Problem): string {
  return `${problem.path}: ${problem.message}`;
}

/** Thrown by `loadConfig` when the file cannot be used; `problems` holds one line per issue. */
export class ConfigError extends Error {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
