/**
 * One pass over the incoming raw headers: "remove before you add". Hop-by-hop headers (RFC 9110
 * §7.6.1) and those named in `Connection`, every incoming copy of an identity header in any
 * spelling a backend reads as the same name (see canonicalHeaderName), and the X-Forwarded-*
 * headers the gateway sets itself are left out of the list forwarded upstream; what the later
 * stages need (Authorization, Host, Content-Type, …) is picked up on the way, so no header object
 * is ever built.
 */

import { canonicalHeaderName, HOP_BY_HOP, NOT_FORWARDED, NOT_FORWARDED_NOR_OVERRIDES } from './header-names.js';

export interface InboundHeaders {
  /** Flat `[name, value, …]` list to forward, original case and order. */
  readonly forward: string[];
  authorization: string | undefined;
  authorizationCount: number;
  /** Index in `forward` of the Authorization name, or -1. */
  authorizationAt: number;
  host: string | undefined;
  forwardedFor: string | undefined;
  contentType: string | undefined;
  /** Backends differ on which of several Content-Types they read (Node the first, others the last). */
  contentTypeCount: number;
  contentLength: string | undefined;
  /** Index in `forward` of the Content-Length name, or -1. */
  contentLengthAt: number;
  chunked: boolean;
  requestId: string | undefined;
}

/**
 * `identityNames`: the canonical names (canonicalHeaderName) of every identity header.
 * `keepMethodOverride`: the route opts in to X-HTTP-Method-Override and its kind; they are removed otherwise.
 */
export function readInboundHeaders(raw: readonly string[], identityNames: ReadonlySet<string>, keepMethodOverride = false): InboundHeaders {
  const notForwarded = keepMethodOverride ? NOT_FORWARDED : NOT_FORWARDED_NOR_OVERRIDES;
  const forward: string[] = [];
  const inbound: InboundHeaders = {
    forward,
    authorization: undefined,
    authorizationCount: 0,
    authorizationAt: -1,
    host: undefined,
    forwardedFor: undefined,
    contentType: undefined,
    contentTypeCount: 0,
    contentLength: undefined,
    contentLengthAt: -1,
    chunked: false,
    requestId: undefined,
  };
  let connectionTokens: string | undefined;

  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    const lower = name.toLowerCase();
    // "_" for "-": a CGI-style backend (Rack, WSGI, PHP) reads X_Forwarded_For as X-Forwarded-For.
    const canonical = lower.includes('_') ? canonicalHeaderName(lower) : lower;
    if (notForwarded.has(canonical)) {
      if (canonical !== lower) continue; // another spelling of a name the gateway owns: dropped, never read
      switch (lower) {
        case 'connection':
          connectionTokens = connectionTokens === undefined ? value : `${connectionTokens},${value}`;
          break;
        case 'host':
          inbound.host = value;
          break;
        case 'transfer-encoding':
          inbound.chunked = true;
          break;
        case 'x-forwarded-for':
          inbound.forwardedFor = inbound.forwardedFor === undefined ? value : `${inbound.forwardedFor}, ${value}`;
          break;
        case 'x-request-id':
          inbound.requestId ??= value;
          break;
      }
      continue;
    }
    if (identityNames.has(canonical)) continue;
    switch (lower) {
      case 'authorization':
        if (inbound.authorizationCount++ === 0) {
          inbound.authorization = value;
          inbound.authorizationAt = forward.length;
        }
        break;
      case 'content-type':
        inbound.contentType = value;
        inbound.contentTypeCount++;
        break;
      case 'content-length':
        inbound.contentLength = value;
        inbound.contentLengthAt = forward.length;
        break;
    }
    forward.push(name, value);
  }

  const named = connectionNamed(connectionTokens);
  if (named !== null) removeConnectionNamed(inbound, named);
  return inbound;
}

/**
 * RFC 9110 §7.6.1: the header names listed in Connection (all of its fields, joined) are
 * hop-by-hop too. `null` when it lists none but the usual keep-alive / close, the common case.
 */
function connectionNamed(tokens: string | undefined): ReadonlySet<string> | null {
  if (tokens === undefined || !/[^\s,]/.test(tokens.replace(/\b(?:keep-alive|close)\b/gi, ''))) return null;
  return new Set(tokens.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== ''));
}

/** Rare: only when Connection names headers is the list copied. */
function removeConnectionNamed(inbound: InboundHeaders, named: ReadonlySet<string>): void {
  const kept: string[] = [];
  const list = inbound.forward;
  inbound.authorizationAt = -1;
  inbound.contentLengthAt = -1;
  for (let i = 0; i < list.length; i += 2) {
    const lower = list[i].toLowerCase();
    if (named.has(lower) && lower !== 'authorization' && lower !== 'content-length') continue;
    if (lower === 'authorization' && inbound.authorizationAt === -1) inbound.authorizationAt = kept.length;
    if (lower === 'content-length') inbound.contentLengthAt = kept.length;
    kept.push(list[i], list[i + 1]);
  }
  list.length = 0;
  list.push(...kept);
}

/** Removes the pair at `at` (a name index) from a flat header list. */
export function removePair(list: string[], at: number): void {
  if (at >= 0) list.splice(at, 2);
}

/** Every value of the headers called `lowerName` in a raw list, in order. */
export function rawHeaderValues(raw: readonly string[], lowerName: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === lowerName.length && raw[i].toLowerCase() === lowerName) values.push(raw[i + 1]);
  return values;
}

/** Value of the first header called `lowerName` in a raw list, or undefined. */
export function rawHeader(raw: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === lowerName.length && raw[i].toLowerCase() === lowerName) return raw[i + 1];
  return undefined;
}

/**
 * The backend's raw response headers (latin1 byte strings, so that non-ASCII bytes pass through
 * unchanged) without hop-by-hop ones, as a flat list for `writeHead`; plus the request's
 * X-Request-Id when the backend set none, so the client can quote it.
 */
export function responseHeaders(raw: readonly Buffer[], requestId: string): string[] {
  const out: string[] = [];
  let connectionTokens: string | undefined;
  let hasRequestId = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    const lower = name.toLowerCase();
    if (lower === 'x-request-id') hasRequestId = true;
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') {
        const value = raw[i + 1].toString('latin1');
        connectionTokens = connectionTokens === undefined ? value : `${connectionTokens},${value}`;
      }
      continue;
    }
    out.push(name, raw[i + 1].toString('latin1'));
  }
  if (!hasRequestId) out.push('x-request-id', requestId);
  const named = connectionNamed(connectionTokens);
  if (named === null) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!named.has(out[i].toLowerCase())) kept.push(out[i], out[i + 1]);
  return kept;
}
