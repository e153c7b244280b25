/**
 * The Fastify face (SPEC 7.3): `app.register(tokengate, { validator: tg, ...options })` guards the
 * routes of the scope it is registered in (it is a fastify-plugin plugin, so its hook belongs to
 * that scope, not to a scope of its own). A refused request gets the gateway's own answer (SPEC
 * section 4: status, every header of it, body); an allowed one has its decision on
 * `request.tokengate`.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { preparedOf, type AllowedDecision } from './decision.js';
import type { TokenValidator } from './index.js';
import type { RequestOptions } from './options.js';
import { createGuard, whenDecided } from './request.js';

export type { AllowedDecision, DeniedDecision, TokenDecision } from './decision.js';
export type { RequestOptions } from './options.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The decision that let this request through; undefined on routes tokengate does not guard. */
    tokengate?: AllowedDecision;
  }
}

/**
 * `validator` is the TokenValidator; the name of one of its validators, when it has several, is
 * `validatorName` (the `validator` option of `validate`).
 */
export interface TokengatePluginOptions extends Omit<RequestOptions, 'validator'> {
  readonly validator: TokenValidator;
  readonly validatorName?: string;
}

/**
 * The hook runs on `onRequest`, before the body is read, unless `tokenFrom` has `form`: then on
 * `preHandler`, with the body a urlencoded parser (such as @fastify/formbody) has parsed.
 */
const tokengatePlugin: FastifyPluginAsync<TokengatePluginOptions> = async (fastify, options) => {
  const { validator, validatorName, ...rest } = options;
  const guard = createGuard(validator, { ...rest, validator: validatorName });
  if (!fastify.hasRequestDecorator('tokengate')) fastify.decorateRequest('tokengate', undefined);

  const hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    whenDecided(guard.decide(request.raw, request.raw.url ?? request.url, guard.readsForm ? request.body : undefined), (decision) => {
      if (decision.allowed) {
        request.tokengate = decision;
        return done();
      }
      void reply.code(decision.status).headers(decision.response.headers).send(preparedOf(decision)!.body);
    });
  };
  if (guard.readsForm) fastify.addHook('preHandler', hook);
  else fastify.addHook('onRequest', hook);
};

export default fastifyPlugin(tokengatePlugin, { fastify: '5.x', name: 'tokengate' });
