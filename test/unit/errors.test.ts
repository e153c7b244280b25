/**
 * The gateway's own answers (SPEC section 4): status, error type, WWW-Authenticate exactly as
 * RFC 6750 section 3 wants it, and the seed's `{"errors":[{type,message}]}` body.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  errorBody, renderAnswers, renderInsufficientScope, renderMethodNotAllowed, renderUnavailable, renderUnavailableAsInvalid, type PreparedResponse,
} from '../../src/http/errors.js';
import { REASON_IDS, REASONS, RETRY_AFTER_SECONDS, type Reason } from '../../src/pipeline/reasons.js';

const REALM = 'r';
const denials = renderAnswers(REALM);

/** Every value of `name` (lower-case) in a prepared flat header list. */
function values(prepared: PreparedResponse, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < prepared.headers.length; i += 2) if (prepared.headers[i].toLowerCase() === name) out.push(prepared.headers[i + 1]);
  return out;
}

function one(prepared: PreparedResponse, name: string): string | undefined {
  const found = values(prepared, name);
  assert.ok(found.length <= 1, `${name} appears ${found.length} times`);
  return found[0];
}

interface Row {
  readonly id: Reason;
  readonly status: number;
  readonly type: string;
  /** Exact WWW-Authenticate, or undefined for none. */
  readonly challenge: string | undefined;
}

const NO_ERROR = 'Bearer realm="r"';
const INVALID_REQUEST = 'Bearer realm="r", error="invalid_request"';
const INVALID_TOKEN = 'Bearer realm="r", error="invalid_token"';

const rows: Row[] = [
  // No token on a required route: 401 without an error code (RFC 6750 §3.1).
  { id: 'missing_token', status: 401, type: 'MissingTokenError', challenge: NO_ERROR },
  // Malformed request: 400 invalid_request.
  { id: 'malformed_authorization', status: 400, type: 'InvalidRequestError', challenge: INVALID_REQUEST },
  { id: 'several_authorization_headers', status: 400, type: 'InvalidRequestError', challenge: INVALID_REQUEST },
  { id: 'malformed_token', status: 400, type: 'InvalidRequestError', challenge: INVALID_REQUEST },
  { id: 'token_in_several_places', status: 400, type: 'InvalidRequestError', challenge: INVALID_REQUEST },
  { id: 'token_source_not_allowed', status: 400, type: 'InvalidRequestError', challenge: INVALID_REQUEST },
  // The validator said no: 401 invalid_token.
  { id: 'validator_rejected', status: 401, type: 'InvalidTokenError', challenge: INVALID_TOKEN },
  { id: 'token_inactive', status: 401, type: 'InvalidTokenError', challenge: INVALID_TOKEN },
  { id: 'token_expired', status: 401, type: 'InvalidTokenError', challenge: INVALID_TOKEN },
  { id: 'token_not_yet_valid', status: 401, type: 'InvalidTokenError', challenge: INVALID_TOKEN },
  { id: 'token_claims_malformed', status: 401, type: 'InvalidTokenError', challenge: INVALID_TOKEN },
  { id: 'no_validator_for_region', status: 401, type: 'InvalidTokenError', challenge: INVALID_TOKEN },
  { id: 'not_an_introspection_answer', status: 401, type: 'InvalidTokenError', challenge: INVALID_TOKEN },
  { id: 'token_issuer_mismatch', status: 401, type: 'InvalidTokenError', challenge: INVALID_TOKEN },
  { id: 'token_audience_mismatch', status: 401, type: 'InvalidTokenError', challenge: INVALID_TOKEN },
  { id: 'token_too_long', status: 400, type: 'InvalidRequestError', challenge: INVALID_REQUEST },
  { id: 'several_selector_values', status: 400, type: 'InvalidRequestError', challenge: INVALID_REQUEST },
  { id: 'method_override_refused', status: 400, type: 'InvalidRequestError', challenge: INVALID_REQUEST },
  { id: 'several_content_types', status: 400, type: 'InvalidRequestError', challenge: INVALID_REQUEST },
  // Validator unavailable: 503 + Retry-After, no challenge (deny-401: see below).
  ...(['validator_timeout', 'validator_unreachable', 'validator_server_error', 'validator_throttled', 'validator_bad_answer', 'validator_circuit_open', 'validator_overloaded', 'validator_proxy_failed', 'validator_tls_failed', 'validator_answer_unverified', 'validator_keys_unavailable'] as const).map(
    (id) => ({ id, status: 503, type: 'ValidationUnavailableError', challenge: undefined }),
  ),
  // Protection of the validator.
  { id: 'invalid_token_rate_exceeded', status: 429, type: 'TooManyInvalidTokensError', challenge: undefined },
  { id: 'client_validation_budget_exceeded', status: 429, type: 'TooManyRequestsError', challenge: undefined },
  // Not about the token.
  { id: 'no_route', status: 404, type: 'NotFoundError', challenge: undefined },
  { id: 'method_not_allowed', status: 405, type: 'MethodNotAllowedError', challenge: undefined },
  { id: 'bad_path', status: 400, type: 'InvalidRequestError', challenge: undefined },
  { id: 'ambiguous_path', status: 400, type: 'InvalidRequestError', challenge: undefined },
  { id: 'form_body_too_large', status: 413, type: 'PayloadTooLargeError', challenge: undefined },
  { id: 'form_budget_exceeded', status: 429, type: 'TooManyRequestsError', challenge: undefined },
  { id: 'original_request_unclear', status: 400, type: 'InvalidRequestError', challenge: undefined },
  { id: 'upstream_unreachable', status: 502, type: 'UpstreamError', challenge: undefined },
  { id: 'upstream_timeout', status: 504, type: 'UpstreamError', challenge: undefined },
  { id: 'insufficient_scope', status: 403, type: 'InsufficientScopeError', challenge: 'Bearer realm="r", error="insufficient_scope"' },
];

describe('renderAnswers: SPEC section 4 rows, from the reason table', () => {
  for (const row of rows) {
    describe(row.id, () => {
      const prepared = denials[row.id];
      test(`status ${row.status}`, () => {
        assert.equal(prepared.status, row.status);
      });
      test(`WWW-Authenticate ${row.challenge === undefined ? 'absent' : row.challenge}`, () => {
        assert.deepEqual(values(prepared, 'www-authenticate'), row.challenge === undefined ? [] : [row.challenge]);
      });
      test(`body {"errors":[{"type":"${row.type}",…}]}`, () => {
        const body = JSON.parse(prepared.body.toString('utf8')) as unknown;
        assert.deepEqual(body, { errors: [{ type: row.type, message: REASONS[row.id].message }] });
        assert.equal(prepared.body.toString('utf8'), errorBody(row.type, REASONS[row.id].message));
      });
      test('content-type application/json, exact content-length, no-store', () => {
        assert.equal(one(prepared, 'content-type'), 'application/json');
        assert.equal(one(prepared, 'content-length'), String(prepared.body.length));
        assert.equal(one(prepared, 'cache-control'), 'no-store');
      });
      const retryAfter = row.status === 503 ? String(RETRY_AFTER_SECONDS) : row.id === 'invalid_token_rate_exceeded' ? '60' : row.id === 'client_validation_budget_exceeded' || row.id === 'form_budget_exceeded' ? '1' : undefined;
      test(retryAfter === undefined ? 'no retry-after' : `retry-after ${retryAfter}`, () => {
        assert.deepEqual(values(prepared, 'retry-after'), retryAfter === undefined ? [] : [retryAfter]);
      });
    });
  }

  test('every reason has an answer, and a row in this table', () => {
    assert.deepEqual(Object.keys(denials).sort(), [...REASON_IDS].sort());
    assert.deepEqual(rows.map((row) => row.id).sort(), [...REASON_IDS].sort());
  });

  test('the unavailable answer: 503, Retry-After 5, no WWW-Authenticate; deny-401: 401 invalid_token', () => {
    const unavailable = renderUnavailable(REALM);
    assert.equal(unavailable.status, 503);
    assert.equal(one(unavailable, 'retry-after'), '5');
    assert.equal(one(unavailable, 'www-authenticate'), undefined);
    const asInvalid = renderUnavailableAsInvalid(REALM);
    assert.equal(asInvalid.status, 401);
    assert.equal(one(asInvalid, 'www-authenticate'), INVALID_TOKEN);
    assert.equal(JSON.parse(asInvalid.body.toString()).errors[0].type, 'InvalidTokenError');
  });

  test('messages are fixed printable ASCII text', () => {
    for (const id of REASON_IDS) {
      assert.match(REASONS[id].message, /^[\x20-\x7e]+$/, id);
    }
  });

  test('the realm is written as configured', () => {
    const other = renderAnswers('Acme API v2');
    assert.equal(one(other.missing_token, 'www-authenticate'), 'Bearer realm="Acme API v2"');
    assert.equal(one(other.validator_rejected, 'www-authenticate'), 'Bearer realm="Acme API v2", error="invalid_token"');
  });

  test('prepared answers are frozen', () => {
    assert.equal(Object.isFrozen(denials), true);
    assert.equal(Object.isFrozen(denials.missing_token), true);
    assert.equal(Object.isFrozen(denials.missing_token.headers), true);
  });
});

describe('renderInsufficientScope', () => {
  test('403 listing every required scope, space-separated', () => {
    const prepared = renderInsufficientScope(REALM, ['a', 'b']);
    assert.equal(prepared.status, 403);
    assert.deepEqual(values(prepared, 'www-authenticate'), ['Bearer realm="r", error="insufficient_scope", scope="a b"']);
    assert.deepEqual(JSON.parse(prepared.body.toString()), { errors: [{ type: 'InsufficientScopeError', message: REASONS.insufficient_scope.message }] });
    assert.equal(one(prepared, 'content-type'), 'application/json');
    assert.equal(one(prepared, 'content-length'), String(prepared.body.length));
    assert.deepEqual(values(prepared, 'retry-after'), []);
  });
  test('a single scope', () => {
    assert.equal(one(renderInsufficientScope('tokengate', ['orders:read']), 'www-authenticate'), 'Bearer realm="tokengate", error="insufficient_scope", scope="orders:read"');
  });
  test('three scopes keep their configured order', () => {
    assert.equal(one(renderInsufficientScope(REALM, ['orders:write', 'orders:read', 'admin']), 'www-authenticate'), 'Bearer realm="r", error="insufficient_scope", scope="orders:write orders:read admin"');
  });
});

describe('renderMethodNotAllowed', () => {
  test('405 with an Allow header and no challenge', () => {
    const prepared = renderMethodNotAllowed(REALM, ['GET', 'HEAD', 'POST']);
    assert.equal(prepared.status, 405);
    assert.deepEqual(values(prepared, 'allow'), ['GET, HEAD, POST']);
    assert.deepEqual(values(prepared, 'www-authenticate'), []);
    assert.deepEqual(JSON.parse(prepared.body.toString()), { errors: [{ type: 'MethodNotAllowedError', message: REASONS.method_not_allowed.message }] });
    assert.equal(one(prepared, 'content-length'), String(prepared.body.length));
  });
});

describe('errorBody', () => {
  test('the seed shape, JSON-escaped', () => {
    assert.equal(errorBody('T', 'say "hi"'), '{"errors":[{"type":"T","message":"say \\"hi\\""}]}');
  });
});
