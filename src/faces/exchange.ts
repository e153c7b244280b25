/**
 * What every HTTP face does around the decision core, written once: the request id, the request's
 * credentials and headers as the core reads them, a bounded body read, answering a refusal, and
 * finishing the request (one access line naming the face, one count). A face subclasses Exchange,
 * matches its route, calls `authorize`, and acts on the Decision.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Policy, RouteConfig } from '../config/compile.js';
import { BodyTooLargeError, readBounded } from '../http/body.js';
import { sendPrepared, type PreparedResponse } from '../http/errors.js';
import { rawHeader, rawHeaderValues } from '../http/request-headers.js';
import type { AccessEntry, AccessLog } from '../observability/access-log.js';
import { DecisionSlot, type Decision } from '../pipeline/decision.js';
import { authorize, refuse, type Question } from '../pipeline/index.js';
import type { Reason } from '../pipeline/reasons.js';
import type { Runtime } from '../runtime.js';

export type FaceName = 'proxy' | 'forward-auth' | 'validation-endpoint';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const requestIdPrefix = `${process.pid.toString(36)}-${Date.now().toString(36)}-`;
let requestCounter = 0;

/** The client's X-Request-Id when it is a plain token (it is logged as is), else a new one. */
export function requestIdFor(incoming: string | undefined): string {
  if (incoming !== undefined && SAFE_REQUEST_ID.test(incoming)) return incoming;
  return requestIdPrefix + (++requestCounter).toString(36);
}

/** The request id of a request whose headers are not otherwise read (a refusal before routing). */
export function requestIdOf(req: IncomingMessage): string {
  return requestIdFor(rawHeader(req.rawHeaders, 'x-request-id'));
}

/** Set on a connection whose refusal closes it: requests pipelined behind it are not served. */
const CLOSING = Symbol('closing after a refusal');

/** Whether `req` came on a connection that a refusal is closing (pipelined after it). */
export function onClosingConnection(req: IncomingMessage): boolean {
  return (req.socket as { [CLOSING]?: boolean })[CLOSING] === true;
}

/** A request whose body has not all arrived yet (answering it must not wait for the rest). */
function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

export abstract class Exchange implements Question, AccessEntry {
  abstract readonly face: FaceName;
  readonly runtime: Runtime;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly access: AccessLog;
  readonly startedAt: number;
  /** The method the policy is chosen for (forward-auth: the original request's). */
  method: string;
  readonly slot = new DecisionSlot();
  path = '';
  query = '';
  requestId = '';
  route: RouteConfig | null = null;
  policy: Policy = null as unknown as Policy;

  authorization: string | undefined = undefined;
  authorizationCount = 0;
  form: string | undefined = undefined;

  constructor(runtime: Runtime, req: IncomingMessage, res: ServerResponse, access: AccessLog) {
    this.runtime = runtime;
    this.req = req;
    this.res = res;
    this.access = access;
    this.startedAt = performance.now();
    this.method = req.method!;
  }

  #client: string | undefined;

  /** The client's counting key, found once and only when the core asks (a cache hit never does). */
  get client(): string {
    return (this.#client ??= this.runtime.clientResolver.clientOf(this.req.socket.remoteAddress ?? '', this.forwardedFor()));
  }

  /** The request's X-Forwarded-For, joined (what trusted proxies say about the client). */
  protected forwardedFor(): string | undefined {
    const values = rawHeaderValues(this.req.rawHeaders, 'x-forwarded-for');
    return values.length === 0 ? undefined : values.join(', ');
  }

  headerValues(lowerName: string): readonly string[] {
    return rawHeaderValues(this.req.rawHeaders, lowerName);
  }

  get decision(): Decision {
    return this.slot.decision;
  }

  /** Asks the core about this request (the policy and credentials set), then `then(decision)`. */
  decide(then: (decision: Decision) => void): void {
    const pending = authorize(this.runtime, this, this.slot);
    if (!(pending instanceof Promise)) return then(pending);
    pending.then(then).catch(() => this.failClosed());
  }

  /** Whatever broke, the request is refused, never passed on. */
  failClosed(): void {
    refuse(this.runtime, this.slot, 'validator_unreachable');
    if (!this.res.headersSent) this.respond();
    else this.res.destroy();
  }

  /** Ends the exchange with the answer of `reason` (or a prepared one), without asking the core. */
  refuseWith(reason: Reason, response: PreparedResponse = this.runtime.config.answers[reason]): void {
    this.slot.refuse('deny', reason, response);
    this.respond();
  }

  /**
   * Sends the refusal's answer and logs the request. A request whose body is still arriving gets
   * `Connection: close` and its connection ends with the answer, so a slow body cannot hold it.
   */
  respond(): void {
    const response = this.slot.response!;
    if (hasUnreadBody(this.req)) {
      this.res.shouldKeepAlive = false;
      (this.req.socket as { [CLOSING]?: boolean })[CLOSING] = true;
    }
    this.res.setHeader('x-request-id', this.requestId);
    sendPrepared(this.res, response, this.req.method === 'HEAD');
    this.finish(response.status);
  }

  /** The exchange is over: one access line, one count. */
  finish(status: number): void {
    this.access.write(this, status);
    const runtime = this.runtime;
    runtime.metrics.request(runtime.counts(this.face, this.route), this.slot.outcome, this.slot.reason);
  }

  /**
   * The request body, at most `limit` bytes, then `then(body)`; a larger one is refused with 413.
   * The bytes held are budgeted per client and in all (FormBudget) as they arrive, not as announced:
   * a client that announces much and sends little (or nothing) holds only what it sent. Beyond the
   * budget, 429.
   */
  readBody(limit: number, declaredLength: string | undefined, then: (body: Buffer) => void): void {
    const client = this.client;
    const budget = this.runtime.formBudget;
    let held = 0;
    const acquire = (bytes: number): boolean => {
      if (!budget.acquire(client, bytes)) return false;
      held += bytes;
      return true;
    };
    this.res.once('close', () => budget.release(client, held));
    readBounded(budgeted(this.req, acquire), limit, declaredLength).then(then, (error: unknown) => {
      // A client gone mid-body has nobody to answer.
      if (this.req.socket === null || this.res.destroyed) this.res.destroy();
      else if (error instanceof BodyTooLargeError) this.refuseWith('form_body_too_large');
      else if (error instanceof FormBudgetExceeded) this.refuseWith('form_budget_exceeded');
      else this.res.destroy();
    });
  }
}

class FormBudgetExceeded extends Error {}

/** The chunks of `source`, each only once `acquire(its length)` allowed it. */
async function* budgeted(source: AsyncIterable<Buffer>, acquire: (bytes: number) => boolean): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    if (!acquire(chunk.length)) throw new FormBudgetExceeded('form budget exceeded');
    yield chunk;
  }
}
