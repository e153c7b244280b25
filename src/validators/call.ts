/**
 * The one outbound call to a validator: a keep-alive undici pool, a deadline over the whole call,
 * no redirects (undici's request never follows them), and the answer body read up to a bound and
 * never beyond. A body that is not needed (any status but 200) is discarded so the connection can
 * be reused: a peer that leaves it unread pays a new connection per call.
 */
import { Pool, type Dispatcher } from 'undici';
import type { ValidatorConfig } from '../config/compile.js';
import { BodyTooLargeError, readBounded } from '../http/body.js';
import { describeFailure, isTimeout, nothingWasSent } from '../http/failure.js';
import { mediaTypeOf } from '../http/media-type.js';
import type { UnavailableReason } from '../pipeline/reasons.js';
import type { ValidatorAnswer } from './judge.js';
import { buildValidatorRequest } from './request.js';

/** The most of a validator's answer that is ever read (SPEC: bounded; user info is small). */
export const MAX_ANSWER_BYTES = 1024 * 1024;

export class ValidatorCallError extends Error {
  readonly reason: UnavailableReason;
  /** The call failed before the request (and so the token) left: it says nothing about the token. */
  readonly beforeSending: boolean;
  constructor(reason: UnavailableReason, message: string, beforeSending = false) {
    super(message);
    this.name = 'ValidatorCallError';
    this.reason = reason;
    this.beforeSending = beforeSending;
  }
}

/** The longest a call can take, its one retry included: after this, nothing it started can still store a result. */
export function maxCallDurationMs(validator: ValidatorConfig): number {
  return validator.timeoutMs * 2;
}

export function createValidatorPool(validator: ValidatorConfig): Pool {
  return new Pool(validator.origin, {
    connections: 128,
    pipelining: 1,
    connectTimeout: validator.timeoutMs,
    headersTimeout: validator.timeoutMs,
    bodyTimeout: validator.timeoutMs,
    keepAliveTimeout: 30_000,
  });
}

/** What `probe` also wants of an answer that is not a 200: its first bytes and its Location. */
export interface RefusalPeek {
  body: Buffer;
  location: string | undefined;
  mediaType: string;
}

/** `peek`: when given, a non-200 answer's first 512 bytes and Location are copied into it. */
export async function callValidator(pool: Dispatcher, validator: ValidatorConfig, token: string, peek?: RefusalPeek): Promise<ValidatorAnswer> {
  const request = buildValidatorRequest(validator, token);
  const signal = AbortSignal.timeout(validator.timeoutMs);
  const send = () => pool.request({ method: request.method, path: request.path, headers: request.headers, body: request.body, signal });
  let response: Dispatcher.ResponseData;
  try {
    response = await send().catch((error: unknown) => {
      // One retry, and only when the connection could not even be made: the request never left.
      if (!signal.aborted && nothingWasSent(error)) return send();
      throw error;
    });
  } catch (error) {
    throw toCallError(error);
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
  try {
    const bytes = await readBounded(body, MAX_ANSWER_BYTES, headers['content-length'] as string | undefined);
    return { status: 200, mediaType: mediaTypeOf(headers['content-type']), body: bytes };
  } catch (error) {
    body.destroy();
    throw toCallError(error);
  }
}

function toCallError(error: unknown): ValidatorCallError {
  if (error instanceof ValidatorCallError) return error;
  if (error instanceof BodyTooLargeError) return new ValidatorCallError('validator_bad_answer', `the answer is over the ${MAX_ANSWER_BYTES}-byte bound`);
  const connecting = nothingWasSent(error) || (error as { code?: string } | null)?.code === 'UND_ERR_CONNECT_TIMEOUT';
  if (isTimeout(error)) return new ValidatorCallError('validator_timeout', 'the validator did not answer in time', connecting);
  return new ValidatorCallError('validator_unreachable', `the validator could not be reached (${describeFailure(error)})`, connecting);
}
