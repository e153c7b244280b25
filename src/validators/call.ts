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
import { BodyTooLargeError } from '../http/body.js';
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

/** How much of an answer that is not a 200 is read (and discarded) to keep the connection. */
const REFUSAL_BODY_BYTES = 64 * 1024;
const PEEK_BYTES = 512;

/** The deadline of a call, as undici's timeout errors read (isTimeout, http/failure.ts). */
function deadlineError(): Error {
  return Object.assign(new Error('the validator did not answer in time'), { name: 'TimeoutError' });
}

/**
 * One call through undici's lowest-level `dispatch` (notes/http-stack-costs.md: the cheapest way
 * out, as for the proxy face): the answer is gathered by this handler, without a stream or an
 * AbortSignal per call; one timer is the whole call's deadline, including the wait for a
 * connection (undici applies a request's abort only once it has one: a proxy that never
 * completes a tunnel would otherwise outlive the deadline).
 */
class AnswerCall implements Dispatcher.DispatchHandler {
  readonly #resolve: (answer: ValidatorAnswer) => void;
  readonly #reject: (error: unknown) => void;
  readonly #validator: ValidatorConfig;
  readonly #peek: RefusalPeek | undefined;
  #abort: ((error?: Error) => void) | null = null;
  #timer: NodeJS.Timeout;
  #done = false;
  #status = 0;
  #mediaType = '';
  #limit = MAX_ANSWER_BYTES;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(validator: ValidatorConfig, deadlineAt: number, peek: RefusalPeek | undefined, resolve: (answer: ValidatorAnswer) => void, reject: (error: unknown) => void) {
    this.#validator = validator;
    this.#peek = peek;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#timer = setTimeout(this.#onDeadline, Math.max(0, deadlineAt - Date.now()));
  }

  #onDeadline = (): void => this.#fail(deadlineError());

  #fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#abort?.(error instanceof Error ? error : new Error(String(error)));
    this.#reject(error);
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
    if (this.#done) abort(deadlineError());
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    if (status < 200) return true; // an interim answer (RFC 9110 §15.2)
    this.#status = status;
    let declared = -1;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i];
      if (name.length === 12 && name.toString('latin1').toLowerCase() === 'content-type') this.#mediaType = mediaTypeOf(rawHeaders[i + 1].toString('latin1'));
      else if (name.length === 14 && name.toString('latin1').toLowerCase() === 'content-length') declared = Number(rawHeaders[i + 1].toString('latin1'));
      else if (this.#peek !== undefined && name.length === 8 && name.toString('latin1').toLowerCase() === 'location') this.#peek.location = rawHeaders[i + 1].toString('latin1');
    }
    const validator = this.#validator;
    if (status !== 200) this.#limit = REFUSAL_BODY_BYTES;
    else if (validator.format === 'xml' || (validator.format === 'auto' && isXmlMediaType(this.#mediaType))) this.#limit = MAX_XML_ANSWER_BYTES;
    if (declared > this.#limit) this.#tooLarge();
    return true;
  }

  /**
   * A 200 too large to judge is a failed call; a refusal too large to read is still a refusal
   * (its body is never judged): the connection is given up instead of drained.
   */
  #tooLarge(): void {
    if (this.#status === 200) return this.#fail(new BodyTooLargeError(this.#limit));
    this.#finish();
    this.#abort?.(new BodyTooLargeError(this.#limit));
  }

  onData(chunk: Buffer): boolean {
    this.#size += chunk.length;
    if (this.#size > this.#limit) {
      this.#tooLarge();
      return false;
    }
    // A refusal's body is only read to keep the connection (and, for probe, peeked at).
    if (this.#status === 200 || (this.#peek !== undefined && this.#size - chunk.length < PEEK_BYTES)) this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    const body = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
    if (this.#status !== 200) {
      if (this.#peek !== undefined) {
        this.#peek.mediaType = this.#mediaType;
        this.#peek.body = body.subarray(0, PEEK_BYTES);
      }
      return this.#resolve({ status: this.#status, mediaType: '', body: null });
    }
    this.#resolve({ status: 200, mediaType: this.#mediaType, body });
  }

  onError(error: Error): void {
    this.#fail(error);
  }
}

function dispatchOnce(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, validator: ValidatorConfig, deadlineAt: number, peek: RefusalPeek | undefined): Promise<ValidatorAnswer> {
  return new Promise<ValidatorAnswer>((resolve, reject) => {
    dispatcher.dispatch(options, new AnswerCall(validator, deadlineAt, peek, resolve, reject));
  });
}

/** `peek`: when given, a non-200 answer's first 512 bytes and Location are copied into it. */
export async function callValidator(outbound: ValidatorOutbound, validator: ValidatorConfig, token: string, peek?: RefusalPeek): Promise<ValidatorAnswer> {
  const assertion = validator.clientAssertion === null ? undefined : await signClientAssertion(validator.clientAssertion);
  const request = buildValidatorRequest(validator, token, assertion);
  const deadlineAt = Date.now() + validator.timeoutMs;
  const options: Dispatcher.DispatchOptions = { origin: validator.origin, method: request.method, path: request.path, headers: request.headers as string[], body: request.body };
  let answer: ValidatorAnswer;
  try {
    answer = await dispatchOnce(outbound.dispatcher, options, validator, deadlineAt, peek).catch((error: unknown) => {
      // One retry, and only when the connection could not even be made: the request never left.
      // The retry sends the same client assertion (jti): the server never saw the first.
      if (Date.now() < deadlineAt && nothingWasSent(error)) return dispatchOnce(outbound.dispatcher, options, validator, deadlineAt, peek);
      throw error;
    });
  } catch (error) {
    throw toCallError(error, validator);
  }
  return outbound.answers === null || answer.status !== 200 ? answer : outbound.answers.open(answer);
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
