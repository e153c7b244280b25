/**
 * Reading a validator's XML answer (`application/xml`, `text/xml`): parse it safely, select identity
 * values with XPath, and extract the claims the judge looks at. Pure functions, no I/O.
 *
 * Safety, in one place (SPEC §7.4: "no DTD or external entity is ever resolved"):
 * - A document with a DOCTYPE (or any other markup declaration) is refused *before* it reaches the
 *   parser. That closes XXE (OWASP "XML External Entity Prevention Cheat Sheet": disable DTDs
 *   completely — it is the one defence that covers every variant) and the entity-expansion bombs
 *   ("billion laughs", quadratic blow-up), whatever the parser would have done with them.
 * - Measured on @xmldom/xmldom 0.9.12, for the record: xmldom never fetches anything and never
 *   expands a DTD-declared entity. It parses the DOCTYPE, keeps the internal subset as a raw
 *   string (`doc.doctype.internalSubset`), and reports every `&name;` other than the five
 *   predefined ones as `error: entity not found:&name;`, leaving the literal text `&name;` in the
 *   DOM. So with xmldom's default handler (log, carry on) `<!ENTITY e SYSTEM "file:///etc/passwd">`
 *   yields the text `&e;` — harmless, but a garbage value that must not become an identity header.
 *   We refuse the DOCTYPE anyway: defence in depth, no regex-driven parsing of an attacker's
 *   internal subset, and no reliance on a parser detail that a future version could change.
 * - Every xmldom warning and error is fatal here (`onError` throws): xmldom is lenient by default
 *   (unquoted attributes, undefined entities, text after the root are only reported), and a
 *   half-understood document must never be judged valid.
 * - Bytes must be UTF-8 (a UTF-8 BOM is stripped); a declared `encoding` other than UTF-8 is
 *   refused rather than guessed at, and characters XML 1.0 §2.2 forbids (NUL, most C0 controls,
 *   U+FFFE/U+FFFF, lone surrogates — raw or as `&#…;`, which xmldom accepts) make it malformed.
 *
 * @see https://cheatsheetseries.owasp.org/cheatsheets/XML_External_Entity_Prevention_Cheat_Sheet.html
 * @see https://en.wikipedia.org/wiki/Billion_laughs_attack
 * @see https://www.w3.org/TR/xml/#charsets
 */
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/** Why an XML answer was refused. */
export type XmlRefusal = 'doctype' | 'malformed' | 'not_utf8';

/** The result of {@link parseXmlAnswer}. */
export type XmlAnswer = { ok: true; doc: Document } | { ok: false; reason: XmlRefusal };

const UTF8_BOM_0 = 0xef;
const UTF8_BOM_1 = 0xbb;
const UTF8_BOM_2 = 0xbf;

// XML 1.0 §2.8 XMLDecl. Only matched when the document starts with `<?xml` + whitespace; anything
// else starting that way is not a well-formed declaration. `encoding` is captured in group 3.
const XML_DECL =
  /^<\?xml[\x20\t\r\n]+version[\x20\t\r\n]*=[\x20\t\r\n]*(["'])1\.[0-9]+\1(?:[\x20\t\r\n]+encoding[\x20\t\r\n]*=[\x20\t\r\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)\2)?(?:[\x20\t\r\n]+standalone[\x20\t\r\n]*=[\x20\t\r\n]*(["'])(?:yes|no)\4)?[\x20\t\r\n]*\?>/u;
const XML_DECL_START = /^<\?xml[\x20\t\r\n]/u;
const UTF8_NAMES = new Set(['utf-8', 'utf8']);

// XML 1.0 §2.2 Char: everything but these. The input is valid UTF-8, so there are no lone
// surrogates in the source; they can still come from a character reference (checked on the DOM).
const ILLEGAL_SOURCE_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/u;
const ILLEGAL_DOM_CHAR =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// DOM node types (as on xmldom's Node; plain constants keep the hot path free of look-ups).
const ELEMENT_NODE = 1;
const ATTRIBUTE_NODE = 2;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;
const PROCESSING_INSTRUCTION_NODE = 7;
const COMMENT_NODE = 8;
const DOCUMENT_NODE = 9;

const LT = 0x3c; // <
const GT = 0x3e; // >
const DQ = 0x22; // "
const SQ = 0x27; // '

/**
 * Finds any markup declaration (`<!DOCTYPE`, `<!ENTITY`, `<!ELEMENT`, `<!ATTLIST`, `<!NOTATION`, in
 * any case) outside comments, CDATA sections and processing instructions.
 *
 * A document without a DTD has exactly two legitimate `<!` constructs, comments and CDATA, so
 * rather than looking for the word DOCTYPE (case, whitespace, `<!DOCTYPE` inside a comment…) the
 * scan walks the markup and refuses every other `<!`. Comments, CDATA and PIs are skipped as
 * units, so `<?pi <!-- ?><!DOCTYPE …>` cannot hide a DOCTYPE behind a fake comment opener; tags
 * are skipped honouring quoted attribute values. Anything the scan cannot follow (unterminated
 * comment, `<` inside a tag, a misplaced `<?xml`, a bare `&` in text or a tag) is `malformed`.
 * One pass, O(n), no backtracking.
 */
function scanMarkup(s: string): 'ok' | 'doctype' | 'malformed' {
  const n = s.length;
  let i = 0;
  let textStart = 0;
  const ampersands = new Ampersands(s);
  while ((i = s.indexOf('<', i)) !== -1) {
    if (ampersands.bareIn(textStart, i)) return 'malformed';
    if (s.startsWith('<!--', i)) {
      const end = s.indexOf('-->', i + 4);
      if (end === -1) return 'malformed';
      i = end + 3;
    } else if (s.startsWith('<![CDATA[', i)) {
      const end = s.indexOf(']]>', i + 9);
      if (end === -1) return 'malformed';
      i = end + 3;
    } else if (s.startsWith('<!', i)) {
      return 'doctype';
    } else if (s.startsWith('<?', i)) {
      const end = s.indexOf('?>', i + 2);
      if (end === -1) return 'malformed';
      // XML 1.0 §2.6: the target `xml` (any case) is reserved for the declaration at offset 0; a
      // second one could carry an encoding the check at the start never saw.
      if (i !== 0 && /^xml(?:[\x20\t\r\n]|\?>)/iu.test(s.slice(i + 2, i + 7))) return 'malformed';
      i = end + 2;
    } else {
      // A start or end tag: find its `>`, skipping quoted attribute values (which may hold `>`).
      let j = i + 1;
      let quote = 0;
      for (; j < n; j++) {
        const c = s.charCodeAt(j);
        if (c === LT) return 'malformed'; // XML 1.0 §3.1 [10]: no `<` in attribute values
        if (quote !== 0) {
          if (c === quote) quote = 0;
        } else if (c === DQ || c === SQ) {
          quote = c;
        } else if (c === GT) {
          break;
        }
      }
      if (j >= n || ampersands.bareIn(i, j)) return 'malformed';
      i = j + 1;
    }
    textStart = i;
  }
  return ampersands.bareIn(textStart, n) ? 'malformed' : 'ok';
}

// XML 1.0 §4.1 [67]: in text and attribute values `&` only starts a reference. xmldom passes a bare
// `&` (`fish & chips`) through silently; a non-reference is refused here instead.
const REFERENCE = /&(?:#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z_:][A-Za-z0-9_:.-]*);/y;

/**
 * The `&`s of a document, visited in order by a scan that only moves forward: each range check
 * costs the ampersands inside the range, never a search to the end of the document (which, for a
 * document without any `&`, made the scan quadratic: 1 MiB took over a second).
 */
class Ampersands {
  readonly #s: string;
  #next: number;
  constructor(s: string) {
    this.#s = s;
    this.#next = s.indexOf('&');
  }

  /** True when an `&` in [from, to) does not start a reference; ranges must be asked in order. */
  bareIn(from: number, to: number): boolean {
    const s = this.#s;
    while (this.#next !== -1 && this.#next < from) this.#next = s.indexOf('&', this.#next + 1);
    while (this.#next !== -1 && this.#next < to) {
      REFERENCE.lastIndex = this.#next;
      if (!REFERENCE.test(s)) return true;
      this.#next = s.indexOf('&', this.#next + 1);
    }
    return false;
  }
}

class XmlRefused extends Error {}

function refuseOnAnyReport(level: 'warning' | 'error' | 'fatalError', message: string): never {
  throw new XmlRefused(`${level}: ${message}`);
}

// One parser for the process: its options never change and parseFromString keeps no state between
// calls. `locator: false` skips line/column bookkeeping we never use.
const PARSER = new DOMParser({ locator: false, onError: refuseOnAnyReport });

/**
 * Document order, written on every node of a parsed answer (preorder: an element, then its
 * attributes, then its children), so that XPath can sort a node-set by a number (see
 * `sortByDocumentOrder` below) instead of by xpath's own comparison, which scans a parent's
 * children for every pair it compares.
 */
const ORDER = Symbol('tokengate.documentOrder');
type Ordered = { [ORDER]?: number };

/**
 * Numbers every node in document order, and says whether a text node or attribute value holds a
 * character XML 1.0 forbids (e.g. from `&#0;`). One walk does both.
 */
function indexAndCheckCharacters(doc: Document): boolean {
  let order = 0;
  const stack: Node[] = [doc];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    (node as unknown as Ordered)[ORDER] = order++;
    if (node.nodeType === TEXT_NODE || node.nodeType === CDATA_SECTION_NODE) {
      if (ILLEGAL_DOM_CHAR.test((node as unknown as { data: string }).data)) return true;
      continue;
    }
    if (node.nodeType === ELEMENT_NODE) {
      const attributes = (node as Element).attributes;
      for (let k = 0; k < attributes.length; k++) {
        const attribute = attributes.item(k);
        if (attribute === null) continue;
        (attribute as unknown as Ordered)[ORDER] = order++;
        if (ILLEGAL_DOM_CHAR.test(attribute.value)) return true;
      }
    }
    const children = node.childNodes;
    for (let k = children.length - 1; k >= 0; k--) stack.push(children.item(k) as Node);
  }
  return false;
}

/**
 * Parses a validator's XML answer, refusing anything that could make the parser resolve a DTD or
 * an entity, and anything that is not a well-formed UTF-8 XML document.
 *
 * - `doctype`: the document contains a DOCTYPE or another markup declaration (outside comments and
 *   CDATA), refused before parsing (OWASP XXE: disable DTDs; billion laughs).
 * - `not_utf8`: the bytes are not valid UTF-8 (a UTF-16 BOM included), or the XML declaration names
 *   an encoding other than UTF-8 (`utf-8`/`utf8`, any case). A UTF-8 BOM is stripped first.
 * - `malformed`: anything xmldom reports at any level (warning, error, fatal), no root element,
 *   characters XML 1.0 §2.2 forbids.
 *
 * The caller bounds the body size; this function is linear in it.
 *
 * @see https://cheatsheetseries.owasp.org/cheatsheets/XML_External_Entity_Prevention_Cheat_Sheet.html
 */
export function parseXmlAnswer(body: Buffer): XmlAnswer {
  let bytes = body;
  if (bytes.length >= 3 && bytes[0] === UTF8_BOM_0 && bytes[1] === UTF8_BOM_1 && bytes[2] === UTF8_BOM_2) {
    bytes = bytes.subarray(3);
  }
  // A UTF-16 BOM decodes "fine" as bytes but is not UTF-8: isUtf8 refuses FF FE / FE FF.
  if (!isUtf8(bytes)) return { ok: false, reason: 'not_utf8' };
  const source = bytes.toString('utf8');

  if (XML_DECL_START.test(source)) {
    const decl = XML_DECL.exec(source);
    if (decl === null) return { ok: false, reason: 'malformed' };
    const encoding = decl[3];
    // XML 1.0 §4.3.3: honour the declaration only when it agrees with the bytes we verified.
    if (encoding !== undefined && !UTF8_NAMES.has(encoding.toLowerCase())) return { ok: false, reason: 'not_utf8' };
  }

  const markup = scanMarkup(source);
  if (markup !== 'ok') return { ok: false, reason: markup };
  if (ILLEGAL_SOURCE_CHAR.test(source)) return { ok: false, reason: 'malformed' };

  let doc: Document;
  try {
    doc = PARSER.parseFromString(source, 'text/xml');
  } catch {
    // ParseError (a fatalError, or our onError throwing) — xmldom wraps what onError throws.
    return { ok: false, reason: 'malformed' };
  }
  // Belt and braces: the scan above already refused every `<!` that is not a comment or CDATA.
  if (doc.doctype !== null && doc.doctype !== undefined) return { ok: false, reason: 'doctype' };
  if (doc.documentElement === null || indexAndCheckCharacters(doc)) return { ok: false, reason: 'malformed' };
  return { ok: true, doc };
}

// ---------------------------------------------------------------------------
// XPath
// ---------------------------------------------------------------------------

/*
 * Minimal typings for the part of `xpath` used here. The package's own declarations start with
 * `/// <reference lib="dom" />`, which would pull the browser DOM lib into the whole project's
 * type-check (this project compiles without `dom`) and they do not declare `parse` at all, so the
 * module is loaded with `createRequire` (typed `any`) and narrowed to these shapes.
 */
interface XPathValue {
  stringValue(): string;
  numberValue(): number;
  booleanValue(): boolean;
  nodeset(): { toArray(): unknown[] };
}
interface XPathEvaluator {
  evaluate(options: { node: unknown; allowAnyNamespaceForNoPrefix?: boolean }): XPathValue;
}
// Typed as plain constructors so that `instanceof` tests them without narrowing `XPathValue` away.
type XPathValueClass = abstract new (...args: never[]) => unknown;
interface XPathModule {
  parse(expression: string): XPathEvaluator & { readonly expression: unknown };
  readonly XNodeSet: XPathValueClass;
  readonly XString: XPathValueClass;
  readonly XNumber: XPathValueClass;
  readonly XBoolean: XPathValueClass;
  readonly FunctionCall: abstract new (...args: never[]) => { functionName: string; arguments: unknown[] };
  readonly VariableReference: abstract new (...args: never[]) => { variable: string };
  readonly Step: (abstract new (...args: never[]) => { axis: number }) & { readonly NAMESPACE: number };
}

const xpathModule = createRequire(import.meta.url)('xpath') as XPathModule;

/*
 * xpath keeps a node-set in document order by inserting every node into a tree, comparing two
 * siblings by scanning their parent's children, and de-duplicates by scanning the set: both
 * quadratic in the number of siblings. Measured (xpath 0.0.34): `//account/uid` over 1,025 sibling
 * accounts (a 64 KiB answer) took 177 ms, over 4,004 (256 KiB) 3.1 s. For nodes of an answer that
 * parseXmlAnswer numbered, the set is sorted by that number and de-duplicated with a Set instead
 * (same results, in the same order: the number is document order); any other node (none in
 * practice) falls back to xpath's own code. xpath's node-set stores its nodes in `nodes`, and only
 * `add` appends to it.
 */
interface XNodeSetInternals {
  nodes: unknown[];
  size: number;
  tree: unknown;
  [SEEN]?: Set<unknown>;
  add(node: unknown): void;
  toArray(): unknown[];
  first(): unknown;
}
const SEEN = Symbol('tokengate.seen');
const SMALL_SET = 16;

function byDocumentOrder(a: unknown, b: unknown): number {
  return (a as Ordered)[ORDER]! - (b as Ordered)[ORDER]!;
}

function allOrdered(nodes: readonly unknown[]): boolean {
  for (let i = 0; i < nodes.length; i++) if (typeof (nodes[i] as Ordered | null)?.[ORDER] !== 'number') return false;
  return true;
}

function sortByDocumentOrder(proto: XNodeSetInternals): void {
  const { add, toArray, first } = proto;
  if (typeof add !== 'function' || typeof toArray !== 'function' || typeof first !== 'function') return;
  proto.add = function (this: XNodeSetInternals, node: unknown): void {
    let seen = this[SEEN];
    if (seen === undefined) {
      if (this.nodes.length < SMALL_SET) return add.call(this, node);
      seen = this[SEEN] = new Set(this.nodes);
    }
    if (seen.has(node)) return;
    seen.add(node);
    this.tree = null;
    this.nodes.push(node);
    this.size += 1;
  };
  proto.toArray = function (this: XNodeSetInternals): unknown[] {
    return allOrdered(this.nodes) ? this.nodes.slice().sort(byDocumentOrder) : toArray.call(this);
  };
  proto.first = function (this: XNodeSetInternals): unknown {
    const nodes = this.nodes;
    if (nodes.length === 0 || !allOrdered(nodes)) return first.call(this);
    let best = nodes[0];
    for (let i = 1; i < nodes.length; i++) if (byDocumentOrder(nodes[i], best) < 0) best = nodes[i];
    return best;
  };
}

sortByDocumentOrder((xpathModule.XNodeSet as unknown as { prototype: XNodeSetInternals }).prototype);

function isA(value: XPathValue, kind: XPathValueClass): boolean {
  return value instanceof kind;
}

/** XPath 1.0 §4 core function library: name -> [min, max] arguments. Nothing else is callable. */
const CORE_FUNCTIONS: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['last', [0, 0]], ['position', [0, 0]], ['count', [1, 1]], ['id', [1, 1]],
  ['local-name', [0, 1]], ['namespace-uri', [0, 1]], ['name', [0, 1]],
  ['string', [0, 1]], ['concat', [2, Infinity]], ['starts-with', [2, 2]], ['contains', [2, 2]],
  ['substring-before', [2, 2]], ['substring-after', [2, 2]], ['substring', [2, 3]],
  ['string-length', [0, 1]], ['normalize-space', [0, 1]], ['translate', [3, 3]],
  ['boolean', [1, 1]], ['not', [1, 1]], ['true', [0, 0]], ['false', [0, 0]], ['lang', [1, 1]],
  ['number', [0, 1]], ['sum', [1, 1]], ['floor', [1, 1]], ['ceiling', [1, 1]], ['round', [1, 1]],
] as const);

/** What an expression yields, decided once at compile time. */
export type XPathResultType = 'nodeset' | 'string' | 'number' | 'boolean';

const COMPILED = Symbol('tokengate.compiledXPath');

/**
 * An XPath 1.0 expression parsed once (at start-up) and checked to be usable on a validator's
 * answer. Only {@link compileXPath} makes one; evaluate it with {@link evaluateXPath}.
 */
export interface CompiledXPath {
  /** The expression as configured. */
  readonly source: string;
  /** What it yields: a node-set (one value per node) or one string / number / boolean value. */
  readonly resultType: XPathResultType;
  /** @internal */
  readonly [COMPILED]: XPathEvaluator;
}

/** The result of {@link compileXPath}. */
export type XPathCompilation = { ok: true; xpath: CompiledXPath } | { ok: false; message: string };

const MAX_EXPRESSION_LENGTH = 2048;

/** Walks the parse tree; returns why the expression cannot be used, or undefined. */
function unusable(tree: unknown): string | undefined {
  const seen = new Set<object>();
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    if (node instanceof xpathModule.VariableReference) {
      return `variable references are not supported ($${node.variable})`;
    }
    if (node instanceof xpathModule.FunctionCall) {
      const arity = CORE_FUNCTIONS.get(node.functionName);
      if (arity === undefined) return `unknown function ${node.functionName}() (only XPath 1.0 core functions)`;
      const count = node.arguments.length;
      if (count < arity[0] || count > arity[1]) return `wrong number of arguments for ${node.functionName}(): ${count}`;
    }
    if (node instanceof xpathModule.Step && node.axis === xpathModule.Step.NAMESPACE) {
      return 'the namespace axis is not supported';
    }
    // NameTestQName / NameTestPrefixAny carry `prefix`: there is no configuration for namespace
    // bindings, and resolving the answer's own prefixes would let the answer pick what matches.
    const prefix = (node as { prefix?: unknown }).prefix;
    if (typeof prefix === 'string' && prefix !== '') {
      return `namespace prefixes are not supported (${prefix}:); unprefixed names match elements in the default namespace`;
    }
    for (const value of Object.values(node)) stack.push(value);
  }
  return undefined;
}

// Evaluated once per compiled expression to learn its result type.
const PROBE_DOCUMENT = new DOMParser({ locator: false, onError: refuseOnAnyReport }).parseFromString(
  '<probe/>',
  'text/xml',
);

// Namespaces: an unprefixed name test (`/user/email`) matches an unprefixed element whatever its
// namespace, i.e. also `<user xmlns="urn:x"><email>` (a default namespace), but never a prefixed
// `<u:email>`. Strict XPath 1.0 would match nothing in a default-namespaced answer, and this
// configuration has no way to bind prefixes, so the lenient reading is the only useful one; the
// answer comes from the configured (trusted) validator, and xmlClaims reads names the same way.
function evaluateOptions(node: unknown): { node: unknown; allowAnyNamespaceForNoPrefix: boolean } {
  return { node, allowAnyNamespaceForNoPrefix: true };
}

/**
 * Compiles an XPath 1.0 expression for `identityHeaders` once, at start-up.
 *
 * Refused: syntax errors, variables, functions outside the XPath 1.0 core library (or with the
 * wrong number of arguments), namespace prefixes (`u:email`, `u:*` — no bindings exist) and the
 * namespace axis. Accepted: node-set selections (`/user/email`, `//account/uid`, `/user/@id`,
 * `//email/text()`) and string / number / boolean expressions (`string(/user/email)`,
 * `count(//account)`), which yield one value.
 */
export function compileXPath(expression: string): XPathCompilation {
  if (typeof expression !== 'string' || expression.trim() === '') {
    return { ok: false, message: 'must be a non-empty XPath expression' };
  }
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    return { ok: false, message: `must be at most ${MAX_EXPRESSION_LENGTH} characters` };
  }
  let evaluator: ReturnType<XPathModule['parse']>;
  try {
    evaluator = xpathModule.parse(expression);
  } catch (error) {
    return { ok: false, message: `invalid XPath: ${error instanceof Error ? error.message : String(error)}` };
  }
  const problem = unusable(evaluator.expression);
  if (problem !== undefined) return { ok: false, message: problem };

  let resultType: XPathResultType;
  try {
    const probe = evaluator.evaluate(evaluateOptions(PROBE_DOCUMENT));
    if (isA(probe, xpathModule.XNodeSet)) resultType = 'nodeset';
    else if (isA(probe, xpathModule.XString)) resultType = 'string';
    else if (isA(probe, xpathModule.XNumber)) resultType = 'number';
    else if (isA(probe, xpathModule.XBoolean)) resultType = 'boolean';
    else return { ok: false, message: 'expression does not yield a node-set, string, number or boolean' };
  } catch (error) {
    return { ok: false, message: `invalid XPath: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { ok: true, xpath: Object.freeze({ source: expression, resultType, [COMPILED]: evaluator }) };
}

/** XPath 1.0 §5 string-value of a node. */
function stringValue(node: Node): string | undefined {
  switch (node.nodeType) {
    case ELEMENT_NODE:
      return node.textContent ?? '';
    case ATTRIBUTE_NODE:
      return (node as unknown as { value: string }).value;
    case TEXT_NODE:
    case CDATA_SECTION_NODE:
    case COMMENT_NODE:
    case PROCESSING_INSTRUCTION_NODE:
      return (node as unknown as { data: string }).data;
    case DOCUMENT_NODE:
      return (node as Document).documentElement?.textContent ?? '';
    default:
      return undefined;
  }
}

/**
 * Evaluates a compiled expression against a parsed answer (context node: the document).
 *
 * Returns the string-value of every matched node, in document order: an element gives its text
 * content (text and CDATA descendants, untrimmed), an attribute its value, a text node its data.
 * A string / number / boolean expression gives one value (XPath `string()` of it: `"2"`, `"true"`).
 * A node-set that matches nothing gives `[]`. Never throws: an evaluation error (possible only for a
 * type error inside a predicate, e.g. `//a[count('x')]`) also gives `[]`.
 */
export function evaluateXPath(compiled: CompiledXPath, doc: Document): string[] {
  let result: XPathValue;
  try {
    result = compiled[COMPILED].evaluate(evaluateOptions(doc));
  } catch {
    return [];
  }
  if (!isA(result, xpathModule.XNodeSet)) return [result.stringValue()];
  const values: string[] = [];
  for (const node of result.nodeset().toArray()) {
    const value = stringValue(node as Node);
    if (value !== undefined) values.push(value);
  }
  return values;
}

// ---------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------

/** The members of an XML answer the judge looks at (texts, trimmed of XML white space). */
export interface XmlClaims {
  active?: string;
  exp?: string;
  nbf?: string;
  scope?: string;
  iss?: string;
  aud?: string[];
}

const XML_SPACE = /^[\x20\t\r\n]+|[\x20\t\r\n]+$/gu;

/**
 * The judge's view of an XML answer: the text of the direct children of the document element named
 * `active`, `exp`, `nbf`, `scope`, `iss` (first of each) and `aud` (all of them, in order).
 *
 * Names are matched on the local name, whatever the namespace or prefix (`<t:active>` counts too):
 * for a claim that can only deny, reading more is the fail-closed choice. For the same reason, if
 * several `active` children exist and any of them does not read `true`, that one is reported. Values
 * are trimmed of XML white space (pretty-printed answers); the judge decides what they mean
 * (`active` must read `true`, `exp`/`nbf` are NumericDate, …). Members absent from the answer are
 * absent from the result.
 */
export function xmlClaims(doc: Document): XmlClaims {
  const claims: XmlClaims = {};
  const root = doc.documentElement;
  if (root === null) return claims;
  const children = root.childNodes;
  for (let k = 0; k < children.length; k++) {
    const child = children.item(k);
    if (child === null || child.nodeType !== ELEMENT_NODE) continue;
    const element = child as Element;
    const name = element.localName ?? element.nodeName;
    switch (name) {
      case 'active': {
        const value = text(element);
        if (claims.active === undefined || (claims.active === 'true' && value !== 'true')) claims.active = value;
        break;
      }
      case 'exp':
      case 'nbf':
      case 'scope':
      case 'iss':
        claims[name] ??= text(element);
        break;
      case 'aud':
        (claims.aud ??= []).push(text(element));
        break;
      default:
        break;
    }
  }
  return claims;
}

function text(element: Element): string {
  return (element.textContent ?? '').replace(XML_SPACE, '');
}
