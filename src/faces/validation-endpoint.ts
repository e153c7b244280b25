/**
 * The seed's endpoint, served (SPEC 7.2): tokengate answers like the validation endpoint the
 * seed's connector expects (200 + user info for a good token, anything else for a bad one), in
 * front of any validator, for example an RFC 7662 server, whose 200 `{"active":false}` the
 * connector would take for valid.
 *
 * `GET` with `Authorization: Bearer <token>` (any query, such as `api_key`, ignored): 200 with the
 * validator's 200 JSON answer as the body, its UTF-8 bytes as received; a refusal is the gateway's
 * own answer (401 `InvalidTokenError` or `MissingTokenError`, 503 with Retry-After, …), never
 * echoing the token. Cached and single-flighted like every decision.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { claimsOf } from '../cache/token-result.js';
import { rawHeaderValues } from '../http/request-headers.js';
import type { AccessLog } from '../observability/access-log.js';
import type { Decision } from '../pipeline/decision.js';
import type { Runtime } from '../runtime.js';
import { Exchange, requestIdOf } from './exchange.js';

class ValidationEndpointExchange extends Exchange {
  readonly face = 'validation-endpoint';
}

/** A valid token whose 200 carried no JSON object: the answer is still JSON. */
const EMPTY_OBJECT = Buffer.from('{}');

export function answerValidationEndpoint(runtime: Runtime, req: IncomingMessage, res: ServerResponse, access: AccessLog, path: string): void {
  const endpoint = runtime.config.validationEndpoint!;
  const ex = new ValidationEndpointExchange(runtime, req, res, access);
  ex.path = path;
  ex.requestId = requestIdOf(req);
  if (ex.method !== 'GET' && ex.method !== 'HEAD') return ex.refuseWith('method_not_allowed', endpoint.methodNotAllowed);
  ex.policy = endpoint.policy;
  const authorization = rawHeaderValues(req.rawHeaders, 'authorization');
  ex.authorization = authorization[0];
  ex.authorizationCount = authorization.length;

  ex.decide((decision: Decision) => {
    if (decision.outcome !== 'allow') return ex.respond();
    const claims = claimsOf(decision.result!);
    const body = claims === '' ? EMPTY_OBJECT : Buffer.from(claims, 'latin1');
    res.writeHead(200, ['content-type', 'application/json; charset=utf-8', 'content-length', String(body.length), 'cache-control', 'no-store', 'x-request-id', ex.requestId]);
    res.end(req.method === 'HEAD' ? undefined : body);
    ex.finish(200);
  });
}
