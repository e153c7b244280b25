/**
 * `${NAME}` and `${NAME:-default}` in any string value are replaced from the environment, so that
 * secrets stay out of the file (SPEC section 3). An unset variable without a default is a problem
 * reported at the key where it appears.
 *
 * The walk also copies the document into null-prototype objects and refuses the keys `__proto__`,
 * `constructor` and `prototype` wherever they appear: assigning `out["__proto__"] = { auth: "none" }`
 * to a plain object would make it the prototype, and an inherited `auth` would then read as
 * configured.
 */
import { formatPath, type Problem } from './problems.js';

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function interpolate(value: unknown, env: NodeJS.ProcessEnv, problems: Problem[], path: (string | number)[] = []): unknown {
  if (typeof value === 'string') return interpolateString(value, env, problems, path);
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, env, problems, [...path, index]));
  if (value !== null && typeof value === 'object') {
    const out = Object.create(null) as Record<string, unknown>;
    for (const [key, item] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(key)) {
        problems.push({ path: formatPath([...path, key]), message: 'is not allowed as a key (it would change how every other key is read)' });
        continue;
      }
      out[key] = interpolate(item, env, problems, [...path, key]);
    }
    return out;
  }
  return value;
}

function interpolateString(text: string, env: NodeJS.ProcessEnv, problems: Problem[], path: (string | number)[]): string {
  return text.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    if (found === '') return '';
    problems.push({ path: formatPath(path), message: `environment variable ${name} is not set and has no default` });
    return '';
  });
}
