/**
 * The one reason table. Every way a request can be refused has a row here, and everything else is
 * derived from it: the `Reason` type, the outcome (deny or error), the answer the client gets
 * (status, error type, message, RFC 6750 error code), the cache encoding of a judged result, and
 * the metric and access-log label (the row's name). A new reason cannot be used anywhere until it
 * has its row, and a cache code read back that no row claims is a miss, never a result.
 */

/** RFC 6750 §3.1 error codes; `null`: a challenge without an error code (no credentials were sent). */
export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | null;

/** Envoy ext_authz's three outcomes: allow, deny (the request's fault), error (something could not say). */
export type Outcome = 'allow' | 'deny' | 'error';

interface ReasonRow {
  readonly outcome: 'deny' | 'error';
  readonly status: number;
  readonly type: string;
  readonly message: string;
  /** The RFC 6750 challenge's error code; absent: no WWW-Authenticate at all. */
  readonly bearer?: BearerError;
  /**
   * The validator judged the token: a result with this reason is cached (negatively) under this
   * code, in memory and in Redis. Codes are never reused; 0 means "valid".
   */
  readonly stored?: number;
  /** The validator could not say (`onUnavailable` decides the answer); never cached. */
  readonly unavailable?: true;
  /** Seconds a client should wait before retrying (RFC 9110 §10.2.3 Retry-After). */
  readonly retryAfter?: number;
}

/** Seconds a client should wait after a 503 before retrying. */
export const RETRY_AFTER_SECONDS = 5;

const UNAVAILABLE_ANSWER = { outcome: 'error', status: 503, type: 'ValidationUnavailableError', message: 'The access token could not be validated now; try again later.', unavailable: true, retryAfter: RETRY_AFTER_SECONDS } as const;
const INVALID_REQUEST = { outcome: 'deny', status: 400, type: 'InvalidRequestError', bearer: 'invalid_request' } as const;
const INVALID_TOKEN = { outcome: 'deny', status: 401, type: 'InvalidTokenError', bearer: 'invalid_token' } as const;

export const REASONS = {
  // The request itself (before any token is looked at).
  no_route: { outcome: 'deny', status: 404, type: 'NotFoundError', message: 'No route matches this path.' },
  method_not_allowed: { outcome: 'deny', status: 405, type: 'MethodNotAllowedError', message: 'This method is not allowed on this path.' },
  bad_path: { outcome: 'deny', status: 400, type: 'InvalidRequestError', message: 'The request path cannot be read the same way by every backend (dot segments, empty segments, encoded slashes, backslashes or invalid encoding).' },
  ambiguous_path: { outcome: 'deny', status: 400, type: 'InvalidRequestError', message: 'The request path would pick another route if read without case or ";" parameters; use the path as the API spells it.' },
  original_request_unclear: { outcome: 'deny', status: 400, type: 'InvalidRequestError', message: 'The question names its original request in conflicting ways (two conventions that disagree, or a header sent twice).' },
  form_body_too_large: { outcome: 'deny', status: 413, type: 'PayloadTooLargeError', message: 'The form body is too large to look for an access token in.' },
  form_budget_exceeded: { outcome: 'deny', status: 429, type: 'TooManyRequestsError', message: 'Too many form bodies are waiting to be read; try again later.', retryAfter: 1 },
  several_selector_values: { ...INVALID_REQUEST, message: 'The header that selects the validator was sent more than once or with several values.' },
  several_content_types: { ...INVALID_REQUEST, message: 'The request has more than one Content-Type header.' },
  method_override_refused: { ...INVALID_REQUEST, message: 'The request names several method overrides, or one that the route it names does not honour.' },

  // The credentials (RFC 6750 section 2).
  missing_token: { outcome: 'deny', status: 401, type: 'MissingTokenError', message: 'An access token is required.', bearer: null },
  malformed_authorization: { ...INVALID_REQUEST, message: 'The Authorization header is malformed; expected "Bearer <token>".' },
  several_authorization_headers: { ...INVALID_REQUEST, message: 'The request has more than one Authorization header.' },
  malformed_token: { ...INVALID_REQUEST, message: 'The access token is not a valid RFC 6750 bearer token.' },
  token_too_long: { ...INVALID_REQUEST, message: 'The access token is longer than this gateway accepts.' },
  token_in_several_places: { ...INVALID_REQUEST, message: 'The access token was sent in more than one place (RFC 6750 section 2).' },
  token_source_not_allowed: { ...INVALID_REQUEST, message: 'The access token was sent in a place this route does not accept.' },
  no_validator_for_region: { ...INVALID_TOKEN, message: 'No validator is configured for this request.' },

  // Protection of the validator (RFC 7662 section 4: no token fishing through the gateway).
  invalid_token_rate_exceeded: { outcome: 'deny', status: 429, type: 'TooManyInvalidTokensError', message: 'Too many invalid access tokens from this client; try again later.', retryAfter: 60 },
  client_validation_budget_exceeded: { outcome: 'deny', status: 429, type: 'TooManyRequestsError', message: 'This client has too many new access tokens being validated; try again later.', retryAfter: 1 },

  // The validator judged the token (cached negatively).
  validator_rejected: { ...INVALID_TOKEN, message: 'The access token is invalid.', stored: 1 },
  token_inactive: { ...INVALID_TOKEN, message: 'The access token is not active.', stored: 2 },
  token_expired: { ...INVALID_TOKEN, message: 'The access token has expired.', stored: 3 },
  token_not_yet_valid: { ...INVALID_TOKEN, message: 'The access token is not valid yet.', stored: 4 },
  token_claims_malformed: { ...INVALID_TOKEN, message: "The validator's answer about this token is malformed.", stored: 5 },
  not_an_introspection_answer: { ...INVALID_TOKEN, message: "The validator's answer is not an RFC 7662 introspection answer with active: true.", stored: 6 },
  /** SPEC 7.4 requireIssuer: the answer's `iss` is missing or another issuer's. */
  token_issuer_mismatch: { ...INVALID_TOKEN, message: 'The access token was not issued by the expected authorization server.', stored: 7 },
  /** SPEC 7.4 requireAudience: the answer's `aud` is missing or does not name this API. */
  token_audience_mismatch: { ...INVALID_TOKEN, message: 'The access token is not meant for this API.', stored: 8 },

  // Valid, but not enough for this route (decided per request, never cached as such).
  insufficient_scope: { outcome: 'deny', status: 403, type: 'InsufficientScopeError', message: 'The access token lacks a scope this route requires.', bearer: 'insufficient_scope' },

  // The validator could not say (never cached).
  validator_timeout: UNAVAILABLE_ANSWER,
  validator_unreachable: UNAVAILABLE_ANSWER,
  validator_server_error: UNAVAILABLE_ANSWER,
  validator_throttled: UNAVAILABLE_ANSWER,
  validator_bad_answer: UNAVAILABLE_ANSWER,
  /** The circuit breaker is open: recent calls failed, none is made for a while. */
  validator_circuit_open: UNAVAILABLE_ANSWER,
  /** `maxConcurrentCalls` calls are already waiting on this validator. */
  validator_overloaded: UNAVAILABLE_ANSWER,
  /** SPEC 7.4: the outbound proxy could not be reached or refused the call (407, 5xx); it is never bypassed. */
  validator_proxy_failed: UNAVAILABLE_ANSWER,
  /** SPEC 7.4: TLS to the validator failed (untrusted certificate, wrong host name, client certificate refused). */
  validator_tls_failed: UNAVAILABLE_ANSWER,
  /** RFC 9701: a JWT answer whose signature, alg, typ, iss or aud does not verify, or an answer that is not signed. */
  validator_answer_unverified: UNAVAILABLE_ANSWER,
  /** RFC 9701: the keys that sign the answers (jwksUrl) could not be fetched. */
  validator_keys_unavailable: UNAVAILABLE_ANSWER,

  // The backend (proxy face).
  upstream_unreachable: { outcome: 'error', status: 502, type: 'UpstreamError', message: 'The backend could not be reached.' },
  upstream_timeout: { outcome: 'error', status: 504, type: 'UpstreamError', message: 'The backend did not answer in time.' },
} as const satisfies Record<string, ReasonRow>;

export type Reason = keyof typeof REASONS;
type Row<K extends Reason> = (typeof REASONS)[K];

/** Reasons a validator's answer can be judged to (a cacheable, negative result). */
export type StoredReason = { [K in Reason]: Row<K> extends { readonly stored: number } ? K : never }[Reason];
/** Reasons for which a client is refused to protect the validator (no call is made). */
export type ClientLimitReason = Extract<Reason, 'invalid_token_rate_exceeded' | 'client_validation_budget_exceeded'>;
/** Reasons for which the validator could not say. */
export type UnavailableReason = { [K in Reason]: Row<K> extends { readonly unavailable: true } ? K : never }[Reason];

export const REASON_IDS = Object.freeze(Object.keys(REASONS) as Reason[]);

/** Stored code -> reason; a hole is a code no row claims (read back from a cache: a miss). */
const BY_CODE: (StoredReason | undefined)[] = [];
for (const id of REASON_IDS) {
  const row: ReasonRow = REASONS[id];
  if (row.stored === undefined) continue;
  if (row.stored < 1 || row.stored > 255 || BY_CODE[row.stored] !== undefined) throw new Error(`reason table: stored code ${row.stored} of ${id} is not unique in 1..255`);
  BY_CODE[row.stored] = id as StoredReason;
}

export function storedCodeOf(reason: StoredReason): number {
  return REASONS[reason].stored;
}

/** The judged reason of a stored code; `undefined` for a code no row claims. */
export function reasonOfStoredCode(code: number): StoredReason | undefined {
  return BY_CODE[code];
}

export function outcomeOf(reason: Reason): 'deny' | 'error' {
  return REASONS[reason].outcome;
}

/** The token itself was refused: judged invalid, or not a token at all (what invalidTokenRate counts). */
export function isInvalidToken(reason: Reason): boolean {
  const row: ReasonRow = REASONS[reason];
  return row.stored !== undefined || reason === 'malformed_token' || reason === 'token_too_long' || reason === 'malformed_authorization';
}

export function isUnavailable(reason: Reason): reason is UnavailableReason {
  return (REASONS[reason] as ReasonRow).unavailable === true;
}
