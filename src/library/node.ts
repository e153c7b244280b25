/**
 * The `node:http` face (SPEC 7.3): `http.createServer(withTokengate(tg, options, handler))`. A
 * refused request gets the gateway's own answer (SPEC section 4: status, headers, body) and never
 * reaches `handler`; an allowed one reaches it with the decision, also on `req.tokengate`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AllowedDecision } from './decision.js';
import type { TokenValidator } from './index.js';
import type { RequestOptions } from './options.js';
import { createGuard, sendDenial, whenDecided } from './request.js';

export type { AllowedDecision, DeniedDecision, TokenDecision } from './decision.js';
export type { RequestOptions } from './options.js';

/** A request that was allowed, with its decision. */
export type GuardedRequest = IncomingMessage & { tokengate: AllowedDecision };

export type GuardedHandler = (req: GuardedRequest, res: ServerResponse, decision: AllowedDecision) => void;

/**
 * A request listener that asks `tg` about every request before `handler` sees it. The token is
 * read as the gateway reads it (`options.tokenFrom`, default the Authorization header; `query`:
 * `access_token` in the URL; `form`: a urlencoded body the application has already put on
 * `req.body` as a string, Buffer or parsed object, since node:http parses none). `options` are
 * compiled here, once: a bad one throws now.
 */
export function withTokengate(tg: TokenValidator, options: RequestOptions | undefined, handler: GuardedHandler): (req: IncomingMessage, res: ServerResponse) => void {
  const guard = createGuard(tg, options);
  return (req, res) => {
    const body = guard.readsForm ? (req as IncomingMessage & { body?: unknown }).body : undefined;
    whenDecided(guard.decide(req, req.url ?? '/', body), (decision) => {
      if (!decision.allowed) return sendDenial(req, res, decision);
      const guarded = req as GuardedRequest;
      guarded.tokengate = decision;
      handler(guarded, res, decision);
    });
  };
}
