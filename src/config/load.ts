/**
 * file -> parse (YAML or JSON) -> `${NAME}` from the environment -> schema -> compile -> frozen.
 * Every problem is collected with its key path; nothing half-valid is ever returned.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments, parseDocument, type YAMLError } from 'yaml';
import { compileConfig, type CompileMode, type GatewayConfig } from './compile.js';
import { interpolate } from './interpolate.js';
import { ConfigError, formatPath, type Problem } from './problems.js';
import { configSchema } from './schema.js';
import { nearestKey } from './suggest.js';

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
  return message.replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '').split('\n')[0].replace(/ in JSON at position \d+.*$/, '');
}

/**
 * " at line L, column C": from V8's "at position N" when it says one, else from the YAML reader
 * (JSON is YAML), which locates most of what V8 leaves unplaced.
 */
function jsonWhere(text: string, message: string): string {
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined) {
    const at = parseDocument(text).errors[0]?.linePos?.[0];
    return at === undefined ? '' : ` at line ${at.line}, column ${at.col}`;
  }
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
        const known = keysAt(configSchema, issue.path);
        for (const key of issue.keys) {
          const near = nearestKey(key, known);
          problems.push({ path: formatPath([...issue.path, key]), message: near === undefined ? 'unknown key' : `unknown key (did you mean ${near}?)` });
        }
      } else if (!unset.has(formatPath(issue.path))) {
        problems.push({ path: formatPath(issue.path), message: issue.message });
      }
    }
    problems.push(...referenceProblems(interpolated, problems));
    throw new ConfigError(problems);
  }
  const config = compileConfig(parsed.data, problems, mode);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

interface SchemaNode {
  readonly _zod: { readonly def: { readonly type: string; readonly shape?: Record<string, SchemaNode>; readonly innerType?: SchemaNode; readonly valueType?: SchemaNode; readonly element?: SchemaNode; readonly out?: SchemaNode; readonly options?: readonly SchemaNode[] } };
}

/** The keys the schema knows for the object at `path` (for "did you mean"). */
function keysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  let node = schema as SchemaNode | undefined;
  const unwrap = () => {
    for (;;) {
      const def = node?._zod.def;
      if (def === undefined) return;
      if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable') node = def.innerType;
      else if (def.type === 'pipe') node = def.out;
      else if (def.type === 'union') node = def.options?.find((option) => option._zod.def.type === 'object');
      else return;
    }
  };
  for (const part of path) {
    unwrap();
    const def = node?._zod.def;
    if (def === undefined) return [];
    node = def.type === 'object' ? def.shape?.[String(part)] : def.type === 'record' ? def.valueType : def.type === 'array' ? def.element : undefined;
  }
  unwrap();
  return Object.keys(node?._zod.def.shape ?? {});
}

/**
 * When the schema has refused the file, the references between its parts are still checked, as
 * far as they can be read, so that fixing the first problems does not reveal a second round.
 */
function referenceProblems(document: unknown, already: readonly Problem[]): Problem[] {
  const doc = document as { validators?: unknown; routes?: unknown; validationEndpoint?: { validator?: unknown } };
  if (doc.validators === null || typeof doc.validators !== 'object') return [];
  const names = new Set(Object.keys(doc.validators));
  const problems: Problem[] = [];
  const check = (name: unknown, path: string) => {
    if (typeof name === 'string' && !names.has(name) && !already.some((p) => p.path === path)) problems.push({ path, message: `names no configured validator "${name}"` });
  };
  if (Array.isArray(doc.routes)) {
    doc.routes.forEach((route: { validator?: unknown } | null, index) => {
      const choice = route?.validator;
      if (typeof choice === 'string') check(choice, `routes[${index}].validator`);
      else if (choice !== null && typeof choice === 'object') {
        const { map, default: fallback } = choice as { map?: Record<string, unknown>; default?: unknown };
        for (const [value, name] of Object.entries(map ?? {})) check(name, `routes[${index}].validator.map.${value}`);
        check(fallback, `routes[${index}].validator.default`);
      }
    });
  }
  check(doc.validationEndpoint?.validator, 'validationEndpoint.validator');
  return problems;
}
