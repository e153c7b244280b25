/**
 * The gateway's own answers (SPEC section 4), rendered from the reason table once at start-up:
 * `{"errors":[{"type","message"}]}` in the seed's shape, `Content-Type: application/json`, the
 * RFC 6750 §3 challenge when the row has one, `Retry-After` on 503 and 429. A refusal on the
 * request path costs no formatting.
 */
import type { ServerResponse } from 'node:http';
import { REASON_IDS, REASONS, type BearerError, type Reason } from '../pipeline/reasons.js';


/** A fully prepared answer: status, flat header list, body bytes. */
export interface PreparedResponse {
  readonly status: number;
  readonly headers: readonly string[];
  readonly body: Buffer;
}

export type Answers = { readonly [K in Reason]: PreparedResponse };

interface AnswerTemplate {
  readonly status: number;
  readonly type: string;
  readonly message: string;
  readonly bearer?: BearerError;
  readonly retryAfter?: number;
}

/** `onUnavailable: deny-401`: the validator could not say, answered as an invalid token. */
const UNAVAILABLE_AS_INVALID: AnswerTemplate = { status: 401, type: 'InvalidTokenError', message: 'The access token could not be validated.', bearer: 'invalid_token' };

export function errorBody(type: string, message: string): string {
  return JSON.stringify({ errors: [{ type, message }] });
}

export function prepareAnswer(entry: AnswerTemplate, realm: string, extraChallenge = '', extraHeaders: readonly string[] = []): PreparedResponse {
  const body = Buffer.from(errorBody(entry.type, entry.message));
  const headers = ['content-type', 'application/json', 'cache-control', 'no-store', 'content-length', String(body.length), ...extraHeaders];
  if (entry.bearer !== undefined) headers.push('www-authenticate', bearerChallenge(realm, entry.bearer) + extraChallenge);
  if (entry.retryAfter !== undefined) headers.push('retry-after', String(entry.retryAfter));
  return Object.freeze({ status: entry.status, headers: Object.freeze(headers), body });
}

/** RFC 6750 §3: `Bearer realm="…"` plus `error="…"` when the client sent credentials. */
function bearerChallenge(realm: string, error: BearerError): string {
  return error === null ? `Bearer realm="${realm}"` : `Bearer realm="${realm}", error="${error}"`;
}

export function renderAnswers(realm: string): Answers {
  const out = {} as Record<Reason, PreparedResponse>;
  for (const id of REASON_IDS) out[id] = prepareAnswer(REASONS[id], realm);
  return Object.freeze(out);
}

/** The answer of every reason for which the validator could not say (they share one row). */
export function renderUnavailable(realm: string): PreparedResponse {
  return prepareAnswer(REASONS.validator_unreachable, realm);
}

export function renderUnavailableAsInvalid(realm: string): PreparedResponse {
  return prepareAnswer(UNAVAILABLE_AS_INVALID, realm);
}

/** RFC 6750 §3: `scope="…"` lists every scope the route requires, space-separated. */
export function renderInsufficientScope(realm: string, requiredScopes: readonly string[]): PreparedResponse {
  return prepareAnswer(REASONS.insufficient_scope, realm, `, scope="${requiredScopes.join(' ')}"`);
}

/** RFC 9110 §15.5.6: a 405 lists the allowed methods. */
export function renderMethodNotAllowed(realm: string, allowed: readonly string[]): PreparedResponse {
  return prepareAnswer(REASONS.method_not_allowed, realm, '', ['allow', allowed.join(', ')]);
}

export function sendPrepared(res: ServerResponse, prepared: PreparedResponse, headOnly = false): void {
  res.writeHead(prepared.status, prepared.headers as string[]);
  res.end(headOnly ? undefined : prepared.body);
}
