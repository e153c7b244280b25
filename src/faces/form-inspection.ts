/**
 * What a form body may carry that is the gateway's business, not the backend's: an `access_token`
 * (RFC 6750 §2.2: a token where the route does not take one is refused) and a `_method` field
 * (Rails, Laravel and Symfony route `POST` with `_method=DELETE` in a urlencoded or multipart body
 * as a DELETE, past a route whose DELETE needs more). A urlencoded body is read before the
 * decision (bounded, and budgeted per client and in all, so no client can make the gateway hold
 * its memory); a multipart body is streamed and watched for a `_method` part, and the upstream call
 * is cut off the moment one appears, before the backend has the whole body.
 */
import { Transform } from 'node:stream';
import { METHOD_OVERRIDE_PARAM } from '../http/header-names.js';
import { mediaTypeOf } from '../http/media-type.js';
import { agreedMethod, type CONFLICTING_OVERRIDES } from '../http/method-override.js';
import { paramValues } from '../http/urlencoded.js';

/** The most of one urlencoded body read before the decision. */
export const MAX_FORM_BYTES = 1024 * 1024;
/** Form bytes one client may have waiting in the gateway at once, and all clients together. */
const CLIENT_FORM_BUDGET = 2 * MAX_FORM_BYTES;
const TOTAL_FORM_BUDGET = 64 * MAX_FORM_BYTES;

export type BodyKind = 'urlencoded' | 'multipart' | 'other';

/** RFC 6750 §2.2, RFC 7578: what a request body is, for the gateway's purposes. */
export function bodyKindOf(contentType: string | undefined): BodyKind {
  const type = mediaTypeOf(contentType);
  return type === 'application/x-www-form-urlencoded' ? 'urlencoded' : type === 'multipart/form-data' ? 'multipart' : 'other';
}

/** Bytes of form bodies being held, per client and in all. */
export class FormBudget {
  readonly #held = new Map<string, number>();
  #total = 0;

  /** Reserves `bytes` for `client`; `false` (nothing reserved) when either budget would be exceeded. */
  acquire(client: string, bytes: number): boolean {
    const held = this.#held.get(client) ?? 0;
    if (held + bytes > CLIENT_FORM_BUDGET || this.#total + bytes > TOTAL_FORM_BUDGET) return false;
    this.#held.set(client, held + bytes);
    this.#total += bytes;
    return true;
  }

  release(client: string, bytes: number): void {
    const left = (this.#held.get(client) ?? bytes) - bytes;
    if (left <= 0) this.#held.delete(client);
    else this.#held.set(client, left);
    this.#total = Math.max(0, this.#total - bytes);
  }
}

/** The method a urlencoded body's `_method` fields name (upper case), `null` when none, CONFLICTING_OVERRIDES when they disagree or name no method. */
export function formMethodOverride(form: string): string | null | typeof CONFLICTING_OVERRIDES {
  return agreedMethod(paramValues(form, METHOD_OVERRIDE_PARAM));
}

/** A multipart part named `_method` (RFC 7578 §4.2 `name` parameter, quoted or not, as Rack reads it; `.method` and ` method` as PHP does). */
const OVERRIDE_PART = /\bname\s*=\s*(?:"[_. ]method"|[_.]method(?=[\s;]|$))/im;
/** Enough of the previous chunk to find a part header cut in two. */
const CARRY = 64;

/**
 * The multipart body as the backend is sent it: the request's bytes passed on as they are read
 * (with the upstream's back-pressure), until a chunk names a `_method` part; that chunk and
 * everything after it are held back and `found` is called once. It is the body itself, not a
 * listener beside it: a second reader would set the request flowing before the upstream reads it.
 */
export function overridePartScanner(found: () => void): Transform {
  let tail = '';
  let seen = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (seen) return callback();
      const text = tail + chunk.toString('latin1');
      if (OVERRIDE_PART.test(text)) {
        seen = true;
        found();
        return callback();
      }
      tail = text.slice(-CARRY);
      callback(null, chunk);
    },
  });
}
