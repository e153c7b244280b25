/**
 * Stage 2, select the validator: fixed per route, or per region from a request header (SPEC
 * section 3). A missing or unknown value uses `default`; with no default there is none, and the
 * call is refused with 401 invalid_token. Header values match case-insensitively. A selector sent
 * more than once, or as a list, is refused: the first value would pick the validator while a
 * backend might read another (RFC 9110 §5.3 lets a recipient combine repeated fields into a list).
 */
import type { ValidatorConfig, ValidatorSelector } from '../config/compile.js';

export interface HeaderSource {
  /** Every value of the header called `lowerName`, in order. */
  headerValues(lowerName: string): readonly string[];
}

export const SEVERAL_VALUES = 'several';

export function selectValidator(selector: ValidatorSelector, request: HeaderSource): ValidatorConfig | null | typeof SEVERAL_VALUES {
  if (selector.kind === 'fixed') return selector.validator;
  const values = request.headerValues(selector.header);
  if (values.length === 0) return selector.fallback;
  if (values.length > 1 || values[0].includes(',')) return SEVERAL_VALUES;
  return selector.map.get(values[0].trim().toLowerCase()) ?? selector.fallback;
}
