/**
 * Stage 1, extract: RFC 6750 section 2 and the route's `tokenFrom`. "No token" is not "bad token":
 * the result is none (-> 401 without an error code, RFC 6750 §3.1), malformed (-> 400
 * invalid_request) or the token. A token anywhere but where the route allows it, or in more than
 * one place, is malformed (§2: "MUST NOT use more than one method").
 */
import type { TokenSources } from '../config/compile.js';
import { B64TOKEN } from '../http/syntax.js';
import { paramValues } from '../http/urlencoded.js';
import type { Reason } from './reasons.js';

export type TokenSource = 'header' | 'form' | 'query';

export type ExtractionFailure = Extract<
  Reason,
  'malformed_authorization' | 'several_authorization_headers' | 'malformed_token' | 'token_too_long' | 'token_in_several_places' | 'token_source_not_allowed'
>;

export type Extraction =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string; readonly source: TokenSource }
  | { readonly kind: 'malformed'; readonly reason: ExtractionFailure };

export interface CredentialsView {
  /** The first Authorization header, if any. */
  readonly authorization: string | undefined;
  readonly authorizationCount: number;
  /** The raw query string, without "?". */
  readonly query: string;
  /** The raw form body, when the route accepts form tokens and the request is a form POST. */
  readonly form: string | undefined;
}

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER_CREDENTIALS = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const BEARER_SCHEME = /^bearer(?:\s|$)/i;
const ACCESS_TOKEN = 'access_token';

const NONE: Extraction = Object.freeze({ kind: 'none' });
const failures = {} as Record<ExtractionFailure, Extraction>;
for (const reason of ['malformed_authorization', 'several_authorization_headers', 'malformed_token', 'token_too_long', 'token_in_several_places', 'token_source_not_allowed'] as const) {
  failures[reason] = Object.freeze({ kind: 'malformed', reason });
}

/**
 * `maxTokenBytes` (SPEC section 8): a longer token is refused before anything else looks at it; a
 * b64token is ASCII, so its length is its size in bytes.
 */
export function extractToken(sources: TokenSources, view: CredentialsView, maxTokenBytes: number): Extraction {
  let found: Extraction = NONE;

  if (view.authorization !== undefined) {
    if (view.authorizationCount > 1) return failures.several_authorization_headers;
    const match = BEARER_CREDENTIALS.exec(view.authorization);
    if (match !== null) {
      if (!sources.header) return failures.token_source_not_allowed;
      if (match[1].length > maxTokenBytes) return failures.token_too_long;
      found = { kind: 'token', token: match[1], source: 'header' };
    } else if (BEARER_SCHEME.test(view.authorization)) {
      return failures.malformed_authorization;
    }
    // Another scheme (Basic, …) carries no bearer token: RFC 6750 §3.1 treats it as none.
  }

  const fromQuery = oneParam(view.query, sources.query, 'query', maxTokenBytes);
  if (fromQuery !== NONE) {
    if (fromQuery.kind === 'malformed' || found !== NONE) return fromQuery.kind === 'malformed' ? fromQuery : failures.token_in_several_places;
    found = fromQuery;
  }

  if (view.form !== undefined) {
    const fromForm = oneParam(view.form, true, 'form', maxTokenBytes);
    if (fromForm !== NONE) {
      if (fromForm.kind === 'malformed' || found !== NONE) return fromForm.kind === 'malformed' ? fromForm : failures.token_in_several_places;
      found = fromForm;
    }
  }
  return found;
}

function oneParam(encoded: string, allowed: boolean, source: TokenSource, maxTokenBytes: number): Extraction {
  const values = paramValues(encoded, ACCESS_TOKEN);
  if (values.length === 0) return NONE;
  if (!allowed) return failures.token_source_not_allowed;
  if (values.length > 1) return failures.token_in_several_places;
  const token = values[0];
  if (token === null || token === undefined) return failures.malformed_token;
  if (token.length > maxTokenBytes) return failures.token_too_long;
  if (!B64TOKEN.test(token)) return failures.malformed_token;
  return { kind: 'token', token, source };
}
