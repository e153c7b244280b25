/**
 * The one outbound call to a validator: a keep-alive undici pool, a deadline over the whole call,
 * no redirects (undici's request never follows them), and the answer body read up to a bound and
 * never beyond. A body that is not needed (any status but 200) is discarded so the connection can
 * be reused: a peer that leaves it unread pays a new connection per call.
 */
import { Pool, type Dispatcher } from 'undici';
import type { ValidatorConfig } from '../config/compile.js';
import type { UnavailableReason, ValidatorAnswer } from './judge.js';
import { buildValidatorRequest } from './request.js';

/** The most of a validator's answer that is ever read (SPEC: bounded; user info is small). */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** Connection failures that happen before a single byte of the request was sent. */
const RETRY_ONCE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

export class ValidatorCallError extends Error {
  readonly reason: UnavailableReason;
  constructor(reason: UnavailableReason, message: string) {
    super(message);
    this.name = 'ValidatorCallError';
    this.reason = reason;
  }
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

export async function callValidator(pool: Dispatcher, validator: ValidatorConfig, token: string): Promise<ValidatorAnswer> {
  const request = buildValidatorRequest(validator, token);
  const signal = AbortSignal.timeout(validator.timeoutMs);
  const send = () => pool.request({ method: request.method, path: request.path, headers: request.headers, body: request.body, signal });
  let response: Dispatcher.ResponseData;
  try {
    response = await send().catch((error: unknown) => {
      // One retry, and only when the connection could not even be made: the request never left.
      if (!signal.aborted && RETRY_ONCE.has((error as { code?: string }).code ?? '')) return send();
      throw error;
    });
  } catch (error) {
    throw toCallError(error);
  }
  const { statusCode, headers, body } = response;
  if (statusCode !== 200) {
    await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    return { status: statusCode, mediaType: '', body: null };
  }
  const declared = Number(headers['content-length']);
  if (declared > MAX_ANSWER_BYTES) {
    body.destroy();
    throw new ValidatorCallError('validator_bad_answer', `answer of ${declared} bytes is over the ${MAX_ANSWER_BYTES}-byte bound`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > MAX_ANSWER_BYTES) {
        body.destroy();
        throw new ValidatorCallError('validator_bad_answer', `answer is over the ${MAX_ANSWER_BYTES}-byte bound`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    throw toCallError(error);
  }
  return { status: 200, mediaType: mediaTypeOf(headers['content-type']), body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) };
}

function mediaTypeOf(value: string | string[] | undefined): string {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return '';
  const semicolon = first.indexOf(';');
  return (semicolon === -1 ? first : first.slice(0, semicolon)).trim().toLowerCase();
}

function toCallError(error: unknown): ValidatorCallError {
  if (error instanceof ValidatorCallError) return error;
  const { name, code, message } = error as { name?: string; code?: string; message?: string };
  if (name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new ValidatorCallError('validator_timeout', 'the validator did not answer in time');
  }
  return new ValidatorCallError('validator_unreachable', `the validator could not be reached (${code ?? name ?? 'error'}: ${message ?? ''})`);
}
