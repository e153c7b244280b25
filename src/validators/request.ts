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
  /** Flat `[name, value, …]`, as undici's dispatch takes them: rendered once per validator, only the token varies. */
  readonly headers: readonly string[];
  readonly body: string | null;
}

/** Each validator's fixed headers, flat (bearer: with a last slot for the caller's Authorization). */
const rendered = new WeakMap<ValidatorConfig, readonly string[]>();

function headersOf(validator: ValidatorConfig): readonly string[] {
  let headers = rendered.get(validator);
  if (headers === undefined) {
    const flat = Object.entries(validator.headers).flat();
    if (validator.style === 'bearer') flat.push('authorization', '');
    headers = Object.freeze(flat);
    rendered.set(validator, headers);
  }
  return headers;
}

/** `assertion`: the RFC 7523 client assertion of this call (private_key_jwt only). */
export function buildValidatorRequest(validator: ValidatorConfig, token: string, assertion?: string): ValidatorRequest {
  if (validator.style === 'bearer') {
    const headers = headersOf(validator).slice();
    headers[headers.length - 1] = `Bearer ${token}`;
    return { method: validator.method, path: validator.path, headers, body: null };
  }
  const form = `token=${encodeURIComponent(token)}&token_type_hint=access_token${validator.formSuffix}`;
  return {
    method: validator.method,
    path: validator.path,
    headers: headersOf(validator),
    // A compact JWS is base64url and dots: nothing in it needs form encoding.
    body: assertion === undefined ? form : `${form}&client_assertion=${assertion}`,
  };
}
