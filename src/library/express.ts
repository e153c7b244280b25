/**
 * The Express / Connect face (SPEC 7.3): `app.use(tokengate(tg, options))`. A refused request gets
 * the gateway's own answer (SPEC section 4: status, every header of it, body) and goes no further;
 * an allowed one goes on with its decision on `req.tokengate`.
 */
import type { RequestHandler } from 'express';
import type { AllowedDecision } from './decision.js';
import type { TokenValidator } from './index.js';
import type { RequestOptions } from './options.js';
import { createGuard, sendDenial, whenDecided } from './request.js';

export type { AllowedDecision, DeniedDecision, TokenDecision } from './decision.js';
export type { RequestOptions } from './options.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- the Express.Request augmentation point of @types/express
  namespace Express {
    interface Request {
      /** The decision that let this request through (set by tokengate's middleware). */
      tokengate?: AllowedDecision;
    }
  }
}

/**
 * Middleware that asks `tg` about every request it sees. The token is read as the gateway reads it
 * (`options.tokenFrom`, default the Authorization header; `query`: `access_token` in the URL;
 * `form`: the urlencoded body, so `express.urlencoded()` must come first). `options` are compiled
 * here, once: a bad one throws now.
 */
export function tokengate(tg: TokenValidator, options?: RequestOptions): RequestHandler {
  const guard = createGuard(tg, options);
  return (req, res, next) => {
    whenDecided(guard.decide(req, req.originalUrl, guard.readsForm ? req.body : undefined), (decision) => {
      if (!decision.allowed) return sendDenial(req, res, decision);
      req.tokengate = decision;
      next();
    });
  };
}
