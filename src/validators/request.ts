/**
 * Building the validator call (asking), kept apart from judging its answer.
 *
 * - `bearer`: the seed's style, the caller's token as `Authorization: Bearer <token>` on the
 *   configured URL (with its extra `query`, e.g. `api_key`, and `headers`).
 * - `rfc7662`: RFC 7662 §2.1, a form POST of `token` and `token_type_hint=access_token`, with the
 *   gateway's own client authentication (RFC 6749 §2.3.1) prepared at start-up; with
 *   `private_key_jwt` (RFC 7523 §2.2) the form's `client_assertion_type` is prepared too and the
 *   call's fresh `client_assertion` (signed by the caller of this function) is appended.
 * - `accept: jwt` (RFC 9701 §4) and `format: xml` only change the prepared Accept header.
 */
import type { ValidatorConfig } from '../config/compile.js';

export interface ValidatorRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
}

/** `assertion`: the RFC 7523 client assertion of this call (private_key_jwt only). */
export function buildValidatorRequest(validator: ValidatorConfig, token: string, assertion?: string): ValidatorRequest {
  if (validator.style === 'bearer') {
    return { method: validator.method, path: validator.path, headers: { ...validator.headers, authorization: `Bearer ${token}` }, body: null };
  }
  const form = `token=${encodeURIComponent(token)}&token_type_hint=access_token${validator.formSuffix}`;
  return {
    method: validator.method,
    path: validator.path,
    headers: validator.headers,
    // A compact JWS is base64url and dots: nothing in it needs form encoding.
    body: assertion === undefined ? form : `${form}&client_assertion=${assertion}`,
  };
}
