/**
 * The one catalog of answers the gateway itself gives (SPEC section 4). Each entry has a stable
 * reason id (for logs and metrics), the HTTP status, the body's error type and the RFC 6750 error
 * code. `renderDenials` turns the catalog into ready-to-write responses once, at start-up, so that
 * a denial costs no formatting on the request path.
 */
import type { ServerResponse } from 'node:http';

/** RFC 6750 §3.1 error codes; `null` means "no error attribute" (§3.1: no credentials were sent). */
type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | null;

interface CatalogEntry {
  readonly status: number;
  readonly type: string;
  readonly message: string;
  /** `undefined`: no WWW-Authenticate at all. */
  readonly bearer?: BearerError;
}

export const CATALOG = {
  no_route: { status: 404, type: 'NotFoundError', message: 'No route matches this path.' },
  method_not_allowed: { status: 405, type: 'MethodNotAllowedError', message: 'This method is not allowed on this path.' },
  bad_path: { status: 400, type: 'InvalidRequestError', message: 'The request path is not in normal form (dot segments, empty segments, encoded slashes or backslashes).' },
  missing_token: { status: 401, type: 'MissingTokenError', message: 'An access token is required.', bearer: null },
  malformed_authorization: { status: 400, type: 'InvalidRequestError', message: 'The Authorization header is malformed; expected "Bearer <token>".', bearer: 'invalid_request' },
  several_authorization_headers: { status: 400, type: 'InvalidRequestError', message: 'The request has more than one Authorization header.', bearer: 'invalid_request' },
  malformed_token: { status: 400, type: 'InvalidRequestError', message: 'The access token is not a valid RFC 6750 bearer token.', bearer: 'invalid_request' },
  token_in_several_places: { status: 400, type: 'InvalidRequestError', message: 'The access token was sent in more than one place (RFC 6750 section 2).', bearer: 'invalid_request' },
  token_source_not_allowed: { status: 400, type: 'InvalidRequestError', message: 'The access token was sent in a place this route does not accept.', bearer: 'invalid_request' },
  form_body_too_large: { status: 413, type: 'PayloadTooLargeError', message: 'The form body is too large to look for an access token in.' },
  no_validator_for_region: { status: 401, type: 'InvalidTokenError', message: 'No validator is configured for this request.', bearer: 'invalid_token' },
  validator_rejected: { status: 401, type: 'InvalidTokenError', message: 'The access token is invalid.', bearer: 'invalid_token' },
  token_inactive: { status: 401, type: 'InvalidTokenError', message: 'The access token is not active.', bearer: 'invalid_token' },
  token_expired: { status: 401, type: 'InvalidTokenError', message: 'The access token has expired.', bearer: 'invalid_token' },
  token_not_yet_valid: { status: 401, type: 'InvalidTokenError', message: 'The access token is not valid yet.', bearer: 'invalid_token' },
  token_claims_malformed: { status: 401, type: 'InvalidTokenError', message: 'The validator\'s answer about this token is malformed.', bearer: 'invalid_token' },
  insufficient_scope: { status: 403, type: 'InsufficientScopeError', message: 'The access token lacks a scope this route requires.', bearer: 'insufficient_scope' },
  validator_unavailable: { status: 503, type: 'ValidationUnavailableError', message: 'The access token could not be validated now; try again later.' },
  validator_unavailable_as_invalid: { status: 401, type: 'InvalidTokenError', message: 'The access token could not be validated.', bearer: 'invalid_token' },
  upstream_unreachable: { status: 502, type: 'UpstreamError', message: 'The backend could not be reached.' },
  upstream_timeout: { status: 504, type: 'UpstreamError', message: 'The backend did not answer in time.' },
} as const satisfies Record<string, CatalogEntry>;

export type DenialId = keyof typeof CATALOG;

/** Seconds a client should wait after a 503 before retrying (RFC 9110 §10.2.3). */
export const RETRY_AFTER_SECONDS = 5;

/** A fully prepared answer: status, flat header list, body bytes. */
export interface PreparedResponse {
  readonly status: number;
  readonly headers: readonly string[];
  readonly body: Buffer;
}

export type Denials = { readonly [K in DenialId]: PreparedResponse };

export function errorBody(type: string, message: string): string {
  return JSON.stringify({ errors: [{ type, message }] });
}

function prepare(entry: CatalogEntry, realm: string, extraChallenge = '', extraHeaders: readonly string[] = []): PreparedResponse {
  const body = Buffer.from(errorBody(entry.type, entry.message));
  const headers = ['content-type', 'application/json', 'cache-control', 'no-store', 'content-length', String(body.length), ...extraHeaders];
  if (entry.bearer !== undefined) headers.push('www-authenticate', bearerChallenge(realm, entry.bearer) + extraChallenge);
  if (entry.status === 503) headers.push('retry-after', String(RETRY_AFTER_SECONDS));
  return Object.freeze({ status: entry.status, headers: Object.freeze(headers), body });
}

/** RFC 6750 §3: `Bearer realm="…"` plus `error="…"` when the client sent credentials. */
function bearerChallenge(realm: string, error: BearerError): string {
  return error === null ? `Bearer realm="${realm}"` : `Bearer realm="${realm}", error="${error}"`;
}

export function renderDenials(realm: string): Denials {
  const out = {} as Record<DenialId, PreparedResponse>;
  for (const id of Object.keys(CATALOG) as DenialId[]) out[id] = prepare(CATALOG[id], realm);
  return Object.freeze(out);
}

/** RFC 6750 §3: `scope="…"` lists every scope the route requires, space-separated. */
export function renderInsufficientScope(realm: string, requiredScopes: readonly string[]): PreparedResponse {
  return prepare(CATALOG.insufficient_scope, realm, `, scope="${requiredScopes.join(' ')}"`);
}

/** RFC 9110 §15.5.6: a 405 lists the allowed methods. */
export function renderMethodNotAllowed(realm: string, allowed: readonly string[]): PreparedResponse {
  return prepare(CATALOG.method_not_allowed, realm, '', ['allow', allowed.join(', ')]);
}

export function sendPrepared(res: ServerResponse, prepared: PreparedResponse, headOnly = false): void {
  res.writeHead(prepared.status, prepared.headers as string[]);
  res.end(headOnly ? undefined : prepared.body);
}
