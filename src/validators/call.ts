/**
 * The one outbound call to a validator: through its dispatcher (a keep-alive pool, or the proxy
 * agent: outbound.ts), a deadline over the whole call, no redirects (undici's request never follows
 * them), and the answer body read up to a bound and never beyond (a smaller one for XML, which is
 * slower to read). A body that is not needed (any status but 200) is discarded so the connection
 * can be reused: a peer that leaves it unread pays a new connection per call.
 *
 * With `private_key_jwt` the call carries a client assertion signed for it; with `accept: jwt` the
 * answer is opened (its signature verified) before it is judged (RFC 9701, jwt-answer.ts).
 */
import type { Dispatcher } from 'undici';
import type { ValidatorConfig } from '../config/compile.js';
import { BodyTooLargeError, readBounded } from '../http/body.js';
import { describeFailure, isTimeout, nothingWasSent } from '../http/failure.js';
import { mediaTypeOf } from '../http/media-type.js';
import { ValidatorCallError } from './call-error.js';
import { signClientAssertion } from './client-assertion.js';
import { isXmlMediaType, MAX_XML_ANSWER_BYTES, type ValidatorAnswer } from './judge.js';
import { JwtAnswerVerifier } from './jwt-answer.js';
import { createKeysDispatcher, createValidatorDispatcher, outboundFailure } from './outbound.js';
import { buildValidatorRequest } from './request.js';

export { ValidatorCallError } from './call-error.js';

/** The most of a validator's answer that is ever read (SPEC: bounded; user info is small). */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** The longest a call can take, its one retry included: after this, nothing it started can still store a result. */
export function maxCallDurationMs(validator: ValidatorConfig): number {
  return validator.timeoutMs * 2;
}

/** What a validator's calls go out through: made once per configuration, closed with it. */
export interface ValidatorOutbound {
  readonly dispatcher: Dispatcher;
  /** `accept: jwt`: verifies the answers; `null` otherwise. */
  readonly answers: JwtAnswerVerifier | null;
  close(): Promise<void>;
}

export function createValidatorOutbound(validator: ValidatorConfig): ValidatorOutbound {
  const dispatcher = createValidatorDispatcher(validator);
  const keys = validator.jwtAnswers === null ? null : createKeysDispatcher(validator, dispatcher);
  return {
    dispatcher,
    answers: validator.jwtAnswers === null || keys === null ? null : new JwtAnswerVerifier(validator.jwtAnswers, keys),
    close: async () => {
      await Promise.all([dispatcher.close(), keys !== null && keys !== dispatcher ? keys.close() : undefined]);
    },
  };
}

/** What `probe` also wants of an answer that is not a 200: its first bytes and its Location. */
export interface RefusalPeek {
  body: Buffer;
  location: string | undefined;
  mediaType: string;
}

/** `peek`: when given, a non-200 answer's first 512 bytes and Location are copied into it. */
export async function callValidator(outbound: ValidatorOutbound, validator: ValidatorConfig, token: string, peek?: RefusalPeek): Promise<ValidatorAnswer> {
  const assertion = validator.clientAssertion === null ? undefined : await signClientAssertion(validator.clientAssertion);
  const request = buildValidatorRequest(validator, token, assertion);
  const signal = AbortSignal.timeout(validator.timeoutMs);
  const dispatcher = outbound.dispatcher;
  const send = () => dispatcher.request({ origin: validator.origin, method: request.method, path: request.path, headers: request.headers, body: request.body, signal });
  let response: Dispatcher.ResponseData;
  try {
    const sent = send().catch((error: unknown) => {
      // One retry, and only when the connection could not even be made: the request never left.
      // The retry sends the same client assertion (jti): the server never saw the first.
      if (!signal.aborted && nothingWasSent(error)) return send();
      throw error;
    });
    response = await withinDeadline(sent, signal);
  } catch (error) {
    throw toCallError(error, validator);
  }
  const { statusCode, headers, body } = response;
  if (statusCode !== 200) {
    if (peek !== undefined) {
      peek.location = headers.location as string | undefined;
      peek.mediaType = mediaTypeOf(headers['content-type']);
      peek.body = await readBounded(body, 64 * 1024).then((all) => all.subarray(0, 512), () => Buffer.alloc(0));
    } else {
      await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    }
    return { status: statusCode, mediaType: '', body: null };
  }
  const mediaType = mediaTypeOf(headers['content-type']);
  const limit = validator.format === 'xml' || (validator.format === 'auto' && isXmlMediaType(mediaType)) ? MAX_XML_ANSWER_BYTES : MAX_ANSWER_BYTES;
  let answer: ValidatorAnswer;
  try {
    const bytes = await readBounded(body, limit, headers['content-length'] as string | undefined);
    answer = { status: 200, mediaType, body: bytes };
  } catch (error) {
    body.destroy();
    throw toCallError(error, validator);
  }
  return outbound.answers === null ? answer : outbound.answers.open(answer);
}

/**
 * The call's answer, or the deadline's reason once it passes. undici applies a request's abort
 * signal only once the request has been given a connection: one still waiting for a connection
 * (a proxy that never completes a tunnel, say) would otherwise outlive its deadline. An answer that
 * arrives too late is discarded.
 */
function withinDeadline(pending: Promise<Dispatcher.ResponseData>, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (response) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) response.body.destroy();
        else resolve(response);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function toCallError(error: unknown, validator: ValidatorConfig): ValidatorCallError {
  if (error instanceof ValidatorCallError) return error;
  if (error instanceof BodyTooLargeError) return new ValidatorCallError('validator_bad_answer', `the answer is over the ${error.limit}-byte bound`);
  const outbound = outboundFailure(error, validator);
  // Nothing of the request left when the proxy refused the tunnel or the TLS handshake failed.
  if (outbound !== null) return new ValidatorCallError(outbound.reason, outbound.message, true);
  const connecting = nothingWasSent(error) || (error as { code?: string } | null)?.code === 'UND_ERR_CONNECT_TIMEOUT';
  if (isTimeout(error)) return new ValidatorCallError('validator_timeout', 'the validator did not answer in time', connecting);
  return new ValidatorCallError('validator_unreachable', `the validator could not be reached (${describeFailure(error)})`, connecting);
}
