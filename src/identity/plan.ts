/**
 * Identity headers (SPEC section 5): header name -> RFC 9535 JSONPath into the validator's 200
 * body, or (SPEC 7.4) an XPath 1.0 expression into an XML answer: a path beginning with "/" is
 * XPath, anything else JSONPath. Paths are compiled once at start-up (json-p3, a complete RFC 9535
 * implementation that never evaluates code; XPath by validators/xml-answer.ts); values are rendered
 * once per validation, when the result is cached, so a cache hit only copies a prepared list.
 * Values of either language go through the same rendering (control characters refused, the byte
 * bound, utf8 or percent), joined with ",".
 */
import { Document } from '@xmldom/xmldom';
import { compile } from 'json-p3';
import type { JSONValue } from 'json-p3';
import { compileXPath, evaluateXPath, type CompiledXPath } from '../validators/xml-answer.js';

export type IdentityEncoding = 'utf8' | 'percent';

/** A compiled JSONPath: the nodes it selects from a parsed JSON body, in order. */
export interface CompiledJsonPath {
  values(body: unknown): readonly unknown[];
}

/** One identity header: its JSONPath query, or its XPath expression (exactly one is set). */
export interface IdentityHeader {
  readonly name: string;
  /** The JSONPath as configured with its leading "$", or the XPath as configured (what the result digest names). */
  readonly path: string;
  readonly query: CompiledJsonPath | null;
  readonly xpath: CompiledXPath | null;
}

export interface IdentityPlan {
  /** Position of this plan in every cache entry's `identity` list. */
  readonly index: number;
  readonly encoding: IdentityEncoding;
  /** A rendered value longer than this many bytes is dropped (SPEC section 8: every input is bounded). */
  readonly maxValueBytes: number;
  readonly headers: readonly IdentityHeader[];
  /** Some header is XPath (read from XML answers only). */
  readonly hasXPath: boolean;
  /** Some header is JSONPath (read from JSON answers only). */
  readonly hasJsonPath: boolean;
}

/** SPEC 7.4: a path beginning with "/" is XPath. */
export function isXPath(path: string): boolean {
  return path.trimStart().startsWith('/');
}

export type IdentityFieldProblem = { readonly header: string; readonly message: string };

/** The leading "$." may be left out (SPEC section 3): `uid` means `$.uid`. */
export function normalizeJsonPath(path: string): string {
  const trimmed = path.trim();
  if (trimmed.startsWith('$')) return trimmed;
  if (trimmed.startsWith('[')) return `$${trimmed}`;
  return `$.${trimmed}`;
}

/** An identity path compiled (XPath when it begins with "/", else JSONPath), or why it cannot be. */
function compileIdentityPath(path: string): Omit<IdentityHeader, 'name'> | string {
  if (isXPath(path)) {
    const compiled = compileXPath(path);
    return compiled.ok ? { path, query: null, xpath: compiled.xpath } : `is not a usable XPath 1.0 expression: ${compiled.message}`;
  }
  const normalized = normalizeJsonPath(path);
  try {
    return { path: normalized, query: compileJsonPath(normalized), xpath: null };
  } catch (error) {
    return `is not a valid RFC 9535 JSONPath: ${(error as Error).message.split('\n')[0] ?? 'malformed'}`;
  }
}

/** Why `path` is not a usable identity path, or `null` (the configuration schema asks before compiling). */
export function identityPathProblem(path: string): string | null {
  const compiled = compileIdentityPath(path);
  return typeof compiled === 'string' ? compiled : null;
}

export function compileIdentityPlan(
  index: number,
  headers: Readonly<Record<string, string>>,
  encoding: IdentityEncoding,
  maxValueBytes: number,
  problems: IdentityFieldProblem[],
): IdentityPlan {
  const compiled: IdentityHeader[] = [];
  for (const [name, path] of Object.entries(headers)) {
    const header = compileIdentityPath(path);
    if (typeof header === 'string') problems.push({ header: name, message: header });
    else compiled.push(Object.freeze({ name, ...header }));
  }
  return Object.freeze({
    index,
    encoding,
    maxValueBytes,
    headers: Object.freeze(compiled),
    hasXPath: compiled.some((h) => h.xpath !== null),
    hasJsonPath: compiled.some((h) => h.query !== null),
  });
}

/** RFC 9535 §2.5.1.1 member-name shorthands only, in ASCII: `$.a.b_c`. */
const MEMBER_CHAIN = /^\$(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;

/**
 * json-p3's query (compiled once, it also checks the syntax), except for the most common identity
 * path, a chain of member names (`$.uid`, `$.user.email`), which is walked directly: the same
 * answer (RFC 9535 §2.3.1.2: a name selects an object's own member, nothing from anything else)
 * without json-p3's node list, on every validation.
 */
export function compileJsonPath(normalized: string): CompiledJsonPath {
  const query = compile(normalized);
  if (!MEMBER_CHAIN.test(normalized)) return { values: (body) => query.query(body as JSONValue).values() };
  const names = normalized.slice(2).split('.');
  return { values: (body) => memberChain(body, names) };
}

function memberChain(body: unknown, names: readonly string[]): readonly unknown[] {
  let node = body;
  for (const name of names) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, name)) return NO_MATCHES;
    node = (node as Record<string, unknown>)[name];
  }
  return [node];
}

/** Why an identity value was dropped instead of being sent. */
export interface DroppedIdentityHeader {
  readonly header: string;
  readonly reason: 'control_character' | 'unencodable' | 'too_large';
}

/**
 * Evaluates a plan against a validator's 200 body into `values[offset …]`, one slot per header of
 * the plan, ready for the wire: with `utf8` each value is a byte string (one char per UTF-8 byte)
 * because Node and undici write header strings as latin1, so `öhlundi` arrives as its UTF-8 bytes,
 * never mojibake. A slot stays `undefined` when the path matches nothing (SPEC section 5: that
 * header is not sent) or the value cannot be sent (reported in `dropped`).
 *
 * `body` is the parsed JSON value, or the parsed XML answer (an xmldom Document): JSONPath headers
 * read the first, XPath headers the second, and a header in the other language matches nothing.
 */
export function renderIdentityValues(plan: IdentityPlan, body: unknown, values: (string | undefined)[], offset: number, dropped: DroppedIdentityHeader[]): void {
  if (body === undefined) return;
  const xml = body instanceof Document;
  const headers = plan.headers;
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i];
    let matches: readonly unknown[];
    if (xml) matches = header.xpath === null ? NO_MATCHES : evaluateXPath(header.xpath, body);
    else matches = header.query === null ? NO_MATCHES : header.query.values(body);
    if (matches.length === 0) continue;
    const rendered = renderValues(matches, plan.encoding, plan.maxValueBytes);
    if (typeof rendered === 'string') values[offset + i] = rendered;
    else dropped.push({ header: headers[i].name, reason: rendered.reason });
  }
}

/** A plan's headers for one body as a flat `[name, value, …]` list (for `probe` and tests). */
export function renderIdentity(plan: IdentityPlan, body: unknown, dropped: DroppedIdentityHeader[]): readonly string[] {
  const values: (string | undefined)[] = new Array(plan.headers.length);
  renderIdentityValues(plan, body, values, 0, dropped);
  const headers: string[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] !== undefined) headers.push(plan.headers[i].name, values[i]!);
  return headers;
}

// RFC 9110 §5.5: CR, LF and NUL are never allowed in a field value; other controls (but HTAB) are
// refused by Node's own header check, so they are dropped here rather than crash a request.
const FORBIDDEN_IN_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
// RFC 3986 §2.3: only unreserved characters stay as they are; encodeURIComponent also keeps !'()*.
const SUB_DELIMS_KEPT_BY_ENCODE_URI = /[!'()*]/g;

const NO_MATCHES: readonly unknown[] = Object.freeze([]);
const TOO_LARGE = Object.freeze({ reason: 'too_large' as const });

function renderValues(values: readonly unknown[], encoding: IdentityEncoding, maxBytes: number): string | { reason: DroppedIdentityHeader['reason'] } {
  const parts: string[] = [];
  // Every UTF-16 unit becomes at least one byte in either encoding: a value too long in units is
  // too large in bytes, and is given up before more of it is rendered.
  let units = -1;
  for (const value of values) {
    const text = stringify(value);
    units += text.length + 1;
    if (units > maxBytes) return TOO_LARGE;
    if (FORBIDDEN_IN_VALUE.test(text)) return { reason: 'control_character' };
    if (!text.isWellFormed()) return { reason: 'unencodable' }; // a lone surrogate has no UTF-8 form
    parts.push(encoding === 'percent' ? encodeURIComponent(text).replace(SUB_DELIMS_KEPT_BY_ENCODE_URI, percentEncodeChar) : text);
  }
  const joined = parts.join(',');
  const bytes = encoding === 'utf8' ? Buffer.from(joined, 'utf8').toString('latin1') : joined;
  return bytes.length > maxBytes ? TOO_LARGE : bytes;
}

function percentEncodeChar(char: string): string {
  return `%${char.charCodeAt(0).toString(16).toUpperCase()}`;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
