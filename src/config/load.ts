/**
 * file -> parse (YAML or JSON) -> `${NAME}` from the environment -> schema -> compile -> frozen.
 * Every problem is collected with its key path; nothing half-valid is ever returned.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments, type YAMLError } from 'yaml';
import { compileConfig, type CompileMode, type GatewayConfig } from './compile.js';
import { interpolate } from './interpolate.js';
import { ConfigError, formatPath, type Problem } from './problems.js';
import { configSchema } from './schema.js';

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: file, message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` }]);
  }
  return buildConfig(parseConfigText(text, file), env);
}

export function parseConfigText(text: string, file: string): unknown {
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ConfigError([{ path: file, message: `not valid JSON${jsonWhere(text, (error as Error).message)}: ${jsonReason((error as Error).message)}` }]);
    }
  }
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) return null; // an empty file: no document at all
  if (documents.length > 1) {
    throw new ConfigError([{ path: file, message: `holds ${documents.length} YAML documents (separated by "---"); a configuration is one document (from a Kubernetes manifest, take the ConfigMap's tokengate.yaml)` }]);
  }
  const document = documents[0];
  if (document === undefined) return null;
  const problem = document.errors[0];
  if (problem !== undefined) throw new ConfigError([{ path: file, message: yamlProblem(problem) }]);
  try {
    return document.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (error) {
    // An alias to an anchor that does not exist, or an alias bomb: not a stack trace, a problem.
    throw new ConfigError([{ path: file, message: `not valid YAML: ${(error as Error).message.split('\n')[0]}` }]);
  }
}

function yamlProblem(error: YAMLError): string {
  const at = error.linePos?.[0];
  const where = at === undefined ? '' : ` at line ${at.line}, column ${at.col}`;
  // yaml appends " at line N, column M:" and a code excerpt to its message; keep the reason only.
  const reason = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  return `not valid YAML${where}: ${reason}`;
}

/** V8's reason without the copy of the source it quotes (which may hold a secret). */
function jsonReason(message: string): string {
  return message.split('\n')[0].replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/, '');
}

/** " at line L, column C" from V8's "at position N", when it says one. */
function jsonWhere(text: string, message: string): string {
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined) return '';
  const before = text.slice(0, Number(position));
  const line = before.split('\n').length;
  return ` at line ${line}, column ${Number(position) - before.lastIndexOf('\n')}`;
}

/**
 * Validates and compiles a configuration given as a plain object (as parsed from a file). `mode`
 * library: for createTokenValidator, where routes are not needed.
 */
export function buildConfig(document: unknown, env: NodeJS.ProcessEnv = process.env, mode: CompileMode = 'gateway'): GatewayConfig {
  const problems: Problem[] = [];
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError([{ path: '(top level)', message: mode === 'library' ? 'must be an object with a validators key' : 'must be a mapping with at least a routes key' }]);
  }
  const interpolated = interpolate(document, env, problems);
  const parsed = configSchema.safeParse(interpolated);
  if (!parsed.success) {
    // A key whose variable is unset is reported once, for the variable, not again for its empty value.
    const unset = new Set(problems.map((problem) => problem.path));
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) problems.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
      } else if (!unset.has(formatPath(issue.path))) {
        problems.push({ path: formatPath(issue.path), message: issue.message });
      }
    }
    throw new ConfigError(problems);
  }
  const config = compileConfig(parsed.data, problems, mode);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
