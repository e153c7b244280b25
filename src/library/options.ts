/**
 * The library's per-call options (SPEC 7.3), compiled into the decision core's `Policy`, the same
 * structure a configured route compiles into: a fixed validator, `tokenFrom`, the required scopes
 * with their 403 answer (RFC 6750 §3.1), and the identity plan. Each distinct set of options is
 * compiled once: by object identity (a WeakMap), and by a canonical key for options written inline
 * at every call (a small bounded map). A call never compiles anything it has seen before.
 */
import { LRUCache } from 'lru-cache';
import type { GatewayConfig, Policy, ValidatorConfig } from '../config/compile.js';
import { canonicalHeaderName, RESERVED_FOR_IDENTITY } from '../http/header-names.js';
import { renderInsufficientScope } from '../http/errors.js';
import { SCOPE_TOKEN, TOKEN } from '../http/syntax.js';
import { compileIdentityPlan, type IdentityEncoding, type IdentityFieldProblem } from '../identity/plan.js';

/** Where a token may be read from a request (SPEC section 3, RFC 6750 section 2). */
export type TokenPlace = 'header' | 'form' | 'query';

/** What one `validate` call asks for (SPEC 7.3). */
export interface ValidateOptions {
  /** The validator's name; may be left out when exactly one is configured. */
  readonly validator?: string;
  /** Every one must be in the token's space-separated `scope` (else 403 insufficient_scope). */
  readonly requiredScopes?: readonly string[];
  /** Header name -> RFC 9535 JSONPath into the validator's 200 body, as in routes (`uid` means `$.uid`). */
  readonly identityHeaders?: Readonly<Record<string, string>>;
  /** `utf8` (default): the raw UTF-8 bytes; `percent`: RFC 3986 percent-encoding (SPEC section 5). */
  readonly identityEncoding?: IdentityEncoding;
  /**
   * The client's address (IPv4 or IPv6), for the per-client limits of SPEC section 8
   * (`server.invalidTokenRate`, `server.clientLimits`); left out: no per-client limits.
   */
  readonly client?: string;
}

/** What a framework face guards its routes with: `validate`'s options, plus where the token may be. */
export interface RequestOptions extends Omit<ValidateOptions, 'client'> {
  /** Default `['header']`; `form` reads a urlencoded body the framework has already parsed. */
  readonly tokenFrom?: readonly TokenPlace[];
}

const PLACES: readonly TokenPlace[] = ['header', 'form', 'query'];
const ENCODINGS: readonly IdentityEncoding[] = ['utf8', 'percent'];
/** Distinct inline option sets remembered by their canonical key. */
const MAX_KEYED_POLICIES = 256;

/** Compiles and remembers the policies of one configuration. */
export class PolicyBook {
  readonly #config: GatewayConfig;
  readonly #byObject = new WeakMap<object, Policy>();
  readonly #byKey = new LRUCache<string, Policy>({ max: MAX_KEYED_POLICIES });
  readonly #default: Policy | null;

  constructor(config: GatewayConfig) {
    this.#config = config;
    this.#default = config.validators.size === 1 ? this.#compile({}) : null;
  }

  /** The policy of `options`, compiled on first sight; throws a TypeError naming a bad option. */
  policyFor(options: RequestOptions | undefined): Policy {
    if (options === undefined) return this.#default ?? this.#compile({});
    let policy = this.#byObject.get(options);
    if (policy !== undefined) return policy;
    const key = canonicalKey(options);
    policy = this.#byKey.get(key);
    if (policy === undefined) {
      policy = this.#compile(options);
      this.#byKey.set(key, policy);
    }
    this.#byObject.set(options, policy);
    return policy;
  }

  #compile(options: RequestOptions): Policy {
    const config = this.#config;
    const validator = this.#validator(options.validator);
    const scopes = [...(options.requiredScopes ?? [])];
    scopes.forEach((scope, i) => {
      if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) fail(`requiredScopes[${i}] ${JSON.stringify(scope)} is not a scope token (RFC 6749 section 3.3)`);
    });
    const encoding = options.identityEncoding ?? 'utf8';
    if (!ENCODINGS.includes(encoding)) fail(`identityEncoding must be one of ${ENCODINGS.join(', ')}`);
    const places = options.tokenFrom ?? ['header'];
    if (places.length === 0 || places.some((place) => !PLACES.includes(place))) fail(`tokenFrom must list at least one of ${PLACES.join(', ')}`);

    const headers = options.identityHeaders ?? {};
    const seen = new Set<string>();
    for (const [name, path] of Object.entries(headers)) {
      const canonical = canonicalHeaderName(name);
      if (!TOKEN.test(name)) fail(`identityHeaders: ${JSON.stringify(name)} is not a valid HTTP header name`);
      if (typeof path !== 'string' || path === '') fail(`identityHeaders.${name} must be a JSONPath string`);
      if (RESERVED_FOR_IDENTITY.has(canonical)) fail(`identityHeaders.${name} is a header tokengate or the backend relies on; choose another name`);
      if (seen.has(canonical)) fail(`identityHeaders.${name} is the same header as another one to a backend that ignores case or reads "_" as "-"`);
      seen.add(canonical);
    }
    const problems: IdentityFieldProblem[] = [];
    const identity = compileIdentityPlan(-1, headers, encoding, config.server.maxIdentityValueBytes, problems);
    if (problems.length > 0) fail(`identityHeaders.${problems[0].header} ${problems[0].message}`);

    return Object.freeze({
      auth: 'required',
      validator: Object.freeze({ kind: 'fixed', validator }),
      tokenFrom: Object.freeze({ header: places.includes('header'), form: places.includes('form'), query: places.includes('query') }),
      requiredScopes: Object.freeze(scopes),
      identity,
      insufficientScope: renderInsufficientScope(config.realm, scopes),
    });
  }

  #validator(name: string | undefined): ValidatorConfig {
    const validators = this.#config.validators;
    const names = [...validators.keys()].join(', ');
    if (name === undefined) {
      if (validators.size === 1) return validators.values().next().value!;
      fail(`the validator option is required when more than one validator is configured (${names})`);
    }
    const validator = validators.get(name);
    if (validator === undefined) fail(`no validator is called ${JSON.stringify(name)}; configured: ${names}`);
    return validator;
  }
}

/** The same key for the same policy however the options object was written (header order kept: it is the identity's order). */
function canonicalKey(options: RequestOptions): string {
  return JSON.stringify([
    options.validator ?? null,
    options.requiredScopes ?? [],
    Object.entries(options.identityHeaders ?? {}),
    options.identityEncoding ?? 'utf8',
    [...(options.tokenFrom ?? ['header'])].sort(),
  ]);
}

function fail(message: string): never {
  throw new TypeError(`tokengate: ${message}`);
}
