/**
 * The method a request asks a backend to act on through X-HTTP-Method-Override and its kind (see
 * header-names.ts), for a route that opts in: every value named must agree and be a method.
 */
import { canonicalHeaderName, METHOD_OVERRIDE_HEADERS, METHOD_OVERRIDE_PARAM } from './header-names.js';
import { TOKEN } from './syntax.js';
import { paramValues } from './urlencoded.js';

/** Several overrides that disagree, or one that is not a method. */
export const CONFLICTING_OVERRIDES = Symbol('conflicting method overrides');

const OVERRIDE_NAMES: ReadonlySet<string> = new Set(METHOD_OVERRIDE_HEADERS);

/** The overriding method (upper case), `null` when none is named, or CONFLICTING_OVERRIDES; header names in any spelling a backend reads alike. */
export function methodOverrideOf(rawHeaders: readonly string[], query: string): string | null | typeof CONFLICTING_OVERRIDES {
  const named: (string | null)[] = paramValues(query, METHOD_OVERRIDE_PARAM);
  for (let i = 0; i < rawHeaders.length; i += 2) if (OVERRIDE_NAMES.has(canonicalHeaderName(rawHeaders[i]))) named.push(rawHeaders[i + 1]);
  return agreedMethod(named);
}

/** The one method (upper case) all of `named` agree on, `null` for none, CONFLICTING_OVERRIDES when they disagree or it is not a method. */
export function agreedMethod(named: readonly (string | null)[]): string | null | typeof CONFLICTING_OVERRIDES {
  if (named.length === 0) return null;
  const first = named[0]?.trim().toUpperCase() ?? '';
  if (!TOKEN.test(first)) return CONFLICTING_OVERRIDES;
  for (const value of named) if (value?.trim().toUpperCase() !== first) return CONFLICTING_OVERRIDES;
  return first;
}
