/**
 * The library's decision (SPEC 7.3): the core's Decision seen from an application. The claims are
 * parsed from the kept 200 body only when asked for, once, and the identity is rendered from them
 * with the call's own identity plan (the values a result carries were rendered for the gateway's
 * routes). A refusal's answer is the core's prepared one, as a plain object.
 */
import type { Logger } from 'pino';
import { fingerprintOf } from '../cache/key.js';
import { claimsOf } from '../cache/token-result.js';
import type { PreparedResponse } from '../http/errors.js';
import { renderIdentity, type DroppedIdentityHeader, type IdentityPlan } from '../identity/plan.js';
import type { Decision } from '../pipeline/decision.js';
import type { Reason } from '../pipeline/reasons.js';

export type { Reason } from '../pipeline/reasons.js';

/** The gateway's answer to a refused request (SPEC section 4), exactly as it sends it. */
export interface DenialResponse {
  readonly status: number;
  /** Lower-case names: content-type, cache-control, content-length, and www-authenticate / retry-after when the answer has them. */
  readonly headers: Readonly<Record<string, string>>;
  /** `{"errors":[{"type":"…","message":"…"}]}`; never contains the token. */
  readonly body: string;
}

/** The token is valid and carries every required scope. */
export interface AllowedDecision {
  readonly allowed: true;
  readonly status: 200;
  readonly reason: null;
  /** The validator's 200 JSON answer (an object), or `null` when it answered no JSON object (or more than 64 KiB). */
  readonly claims: Readonly<Record<string, unknown>> | null;
  /**
   * The identity headers (lower-case names) as the gateway would send them (SPEC section 5): a
   * header whose path matched nothing is absent. With `identityEncoding: utf8` a value is the raw
   * UTF-8 bytes, one char per byte (a latin1 string, what Node writes as is);
   * `Buffer.from(value, 'latin1').toString('utf8')` reads it as text.
   */
  readonly identity: Readonly<Record<string, string>>;
  readonly response: null;
}

/** Refused: the reason, and the answer the gateway gives for it. */
export interface DeniedDecision {
  readonly allowed: false;
  /** 400 bad request or token, 401 missing / invalid token, 403 insufficient scope, 429 per-client limit, 503 validator unavailable. */
  readonly status: 400 | 401 | 403 | 429 | 503;
  /** The access log's stable reason id (`missing_token`, `validator_rejected`, `insufficient_scope`, …). */
  readonly reason: Reason;
  readonly claims: null;
  readonly identity: Readonly<Record<string, string>>;
  readonly response: DenialResponse;
}

export type TokenDecision = AllowedDecision | DeniedDecision;

const NO_IDENTITY: Readonly<Record<string, string>> = Object.freeze({});
const responses = new WeakMap<PreparedResponse, DenialResponse>();

/** A prepared answer as a plain object, made once per answer. */
function denialResponse(prepared: PreparedResponse): DenialResponse {
  let response = responses.get(prepared);
  if (response === undefined) {
    const headers: Record<string, string> = {};
    for (let i = 0; i < prepared.headers.length; i += 2) headers[prepared.headers[i]] = prepared.headers[i + 1];
    response = Object.freeze({ status: prepared.status, headers: Object.freeze(headers), body: prepared.body.toString('utf8') });
    responses.set(prepared, response);
  }
  return response;
}

/** One decision; built by the library from the core's, never by an application. */
export class LibraryDecision {
  readonly allowed: boolean;
  readonly status: number;
  readonly reason: Reason | null;
  readonly response: DenialResponse | null;
  readonly #decision: Decision;
  readonly #plan: IdentityPlan;
  readonly #log: Logger;
  #claims: Readonly<Record<string, unknown>> | null | undefined;
  #identity: Readonly<Record<string, string>> | undefined;

  constructor(decision: Decision, plan: IdentityPlan, log: Logger) {
    this.allowed = decision.outcome === 'allow';
    this.reason = decision.reason;
    this.status = decision.response?.status ?? 200;
    this.response = decision.response === null ? null : denialResponse(decision.response);
    this.#decision = decision;
    this.#plan = plan;
    this.#log = log;
  }

  /** The core's prepared answer, which the framework faces send as is. */
  static preparedOf(decision: LibraryDecision): PreparedResponse | null {
    return decision.#decision.response;
  }

  get claims(): Readonly<Record<string, unknown>> | null {
    if (this.#claims === undefined) {
      const result = this.#decision.result;
      const text = result === null ? '' : claimsOf(result);
      // The kept body is the validator's UTF-8 bytes, one char per byte; the judge parsed it already.
      this.#claims = text === '' ? null : (JSON.parse(Buffer.from(text, 'latin1').toString('utf8')) as Record<string, unknown>);
    }
    return this.#claims;
  }

  get identity(): Readonly<Record<string, string>> {
    if (this.#identity === undefined) {
      const claims = this.claims;
      if (claims === null || this.#plan.headers.length === 0) {
        this.#identity = NO_IDENTITY;
      } else {
        const dropped: DroppedIdentityHeader[] = [];
        const flat = renderIdentity(this.#plan, claims, dropped);
        const identity: Record<string, string> = {};
        for (let i = 0; i < flat.length; i += 2) identity[flat[i].toLowerCase()] = flat[i + 1];
        this.#identity = Object.freeze(identity);
        const fp = this.#decision.tokenKey === null ? null : fingerprintOf(this.#decision.tokenKey);
        for (const item of dropped) this.#log.warn({ validator: this.#decision.validator?.name, fp, header: item.header, reason: item.reason }, 'identity header dropped');
      }
    }
    return this.#identity;
  }
}

/** The core's decision, for an application. */
export function libraryDecision(decision: Decision, plan: IdentityPlan, log: Logger): TokenDecision {
  return new LibraryDecision(decision, plan, log) as unknown as TokenDecision;
}

/** The prepared answer behind a refused decision (what the framework faces send). */
export function preparedOf(decision: TokenDecision): PreparedResponse | null {
  return LibraryDecision.preparedOf(decision as unknown as LibraryDecision);
}
