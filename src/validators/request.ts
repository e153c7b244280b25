/**
 * Building the validator call (asking), kept apart from judging its answer.
 *
 * - `bearer`: the seed's style, the caller's token as `Authorization: Bearer <token>` on the
 *   configured URL (with its extra `query`, e.g. `api_key`, and `headers`).
 * - `rfc7662`: RFC 7662 §2.1, a form POST of `token` and `token_type_hint=access_token`, with the
 *   gateway's own client authentication (RFC 6749 §2.3.1) prepared at start-up.
 */
import type { ValidatorConfig } from '../config/compile.js';

export interface ValidatorRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
}

export function buildValidatorRequest(validator: ValidatorConfig, token: string): ValidatorRequest {
  if (validator.style === 'bearer') {
    return { method: validator.method, path: validator.path, headers: { ...validator.headers, authorization: `Bearer ${token}` }, body: null };
  }
  return {
    method: validator.method,
    path: validator.path,
    headers: validator.headers,
    body: `token=${encodeURIComponent(token)}&token_type_hint=access_token${validator.formSuffix}`,
  };
}
