/**
 * Stage 2b, select the validator: fixed per route, or per region from a request header (SPEC
 * section 3). A missing or unknown value uses `default`; with no default there is none, and the
 * call is refused with 401 invalid_token. Header values match case-insensitively.
 */
import type { ValidatorConfig, ValidatorSelector } from '../config/compile.js';

export interface HeaderSource {
  header(lowerName: string): string | undefined;
}

export function selectValidator(selector: ValidatorSelector, request: HeaderSource): ValidatorConfig | null {
  if (selector.kind === 'fixed') return selector.validator;
  const value = request.header(selector.header);
  if (value === undefined) return selector.fallback;
  return selector.map.get(value.trim().toLowerCase()) ?? selector.fallback;
}
