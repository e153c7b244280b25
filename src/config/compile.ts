/**
 * Turns a schema-valid configuration into the frozen structures the request path reads: validator
 * calls prepared down to their fixed headers, routes sorted for longest-prefix matching, identity
 * plans compiled, error answers rendered. Cross-key rules (references between routes and
 * validators, contradictions) are checked here and reported with the key path they concern.
 */
import { hash } from 'node:crypto';
import { canonicalHeaderName, RESERVED_FOR_IDENTITY } from '../http/header-names.js';
import { compileIdentityPlan, type IdentityPlan } from '../identity/plan.js';
import {
  renderAnswers, renderInsufficientScope, renderMethodNotAllowed, renderUnavailable, renderUnavailableAsInvalid, type Answers, type PreparedResponse,
} from '../http/errors.js';
import { RESULT_FORMAT } from '../cache/token-result.js';
import { normalizePath } from '../pipeline/match-route.js';
import { JWT_BEARER_ASSERTION_TYPE, loadClientAssertionKey, type ClientAssertionSettings } from '../validators/client-assertion.js';
import { INTROSPECTION_JWT_MEDIA_TYPE, type JwtAnswerSettings } from '../validators/jwt-answer.js';
import { compileProxy, readTlsMaterial, type OutboundSettings } from '../validators/outbound.js';
import type { Problem } from './problems.js';
import type { RawConfig, RawRoute, RawValidator } from './schema.js';

export type RequireActive = 'auto' | 'true' | 'false';
export type OnUnavailable = 'deny' | 'deny-401' | 'stale';
/** How a validator's 200 answers are read (SPEC 7.4): by their content (auto), or always as one language. */
export type AnswerFormat = 'auto' | 'json' | 'xml';

export interface ValidatorConfig {
  readonly name: string;
  readonly style: 'bearer' | 'rfc7662';
  readonly method: 'GET' | 'POST';
  /** `scheme://host:port`, the key of the keep-alive pool. */
  readonly origin: string;
  /** Path and query (configured `query` merged in), sent on every call. */
  readonly path: string;
  /** Request headers common to every call: accept, configured extras, client authentication. */
  readonly headers: Readonly<Record<string, string>>;
  /** rfc7662: form parameters appended after `token=…&token_type_hint=access_token`. */
  readonly formSuffix: string;
  readonly timeoutMs: number;
  readonly requireActive: RequireActive;
  readonly cache: { readonly ttlSeconds: number; readonly negativeTtlSeconds: number; readonly maxEntries: number; readonly maxBytes: number };
  readonly onUnavailable: OnUnavailable;
  readonly staleIfErrorSeconds: number;
  readonly clockSkewSeconds: number;
  /** Consecutive failures that open the circuit (0: never), and for how long it stays open. */
  readonly circuitBreaker: { readonly failures: number; readonly cooldownSeconds: number };
  readonly maxConcurrentCalls: number;
  /** The identity plans of every route that may use this validator, rendered when a result is stored. */
  readonly identityPlans: readonly IdentityPlan[];
  /** Where each plan's values start in a result's `identity` list. */
  readonly identityOffsets: ReadonlyMap<IdentityPlan, number>;
  /** The length of a result's `identity` list: the headers of all plans. */
  readonly identityWidth: number;
  /** Results keep the validator's 200 body (for a face that answers with it, or the library's `claims`). */
  readonly keepClaims: boolean;
  /**
   * 8 bytes (one char each) naming what a cached result of this validator was judged and rendered
   * for: the call, the judging rules, the identity plans in order, whether claims are kept. A result
   * written under another digest (another instance's configuration, through Redis) is a miss.
   */
  readonly resultDigest: string;
  /** The answer when this validator cannot say (`onUnavailable`: 503, or 401 with deny-401). */
  readonly unavailableAnswer: PreparedResponse;
  /** SPEC 7.4 `format`. */
  readonly format: AnswerFormat;
  /** The answer's `iss` must equal it (SPEC 7.4 requireIssuer); `null`: not checked. */
  readonly requireIssuer: string | null;
  /** The answer's `aud` must be or contain it (SPEC 7.4 requireAudience); `null`: not checked. */
  readonly requireAudience: string | null;
  /** `accept: jwt`: answers are verified JWTs whose signer is requireIssuer (see JudgeOptions). */
  readonly signedAnswers: boolean;
  /** Proxy and TLS material (SPEC 7.4 `proxy`, `tls`), read when the configuration was loaded. */
  readonly outbound: OutboundSettings;
  /** `private_key_jwt`: what each call's client assertion is signed with; `null` otherwise. */
  readonly clientAssertion: ClientAssertionSettings | null;
  /** `accept: jwt` (RFC 9701): how answers are verified; `null` otherwise. */
  readonly jwtAnswers: JwtAnswerSettings | null;
}

export type ValidatorSelector =
  | { readonly kind: 'fixed'; readonly validator: ValidatorConfig }
  | {
      readonly kind: 'byHeader';
      /** Lower-case header name. */
      readonly header: string;
      /** Lower-case header value -> validator. */
      readonly map: ReadonlyMap<string, ValidatorConfig>;
      readonly fallback: ValidatorConfig | null;
    };

export interface TokenSources {
  readonly header: boolean;
  readonly form: boolean;
  readonly query: boolean;
}

/** What the decision core applies to a request: a route's, or a library call's. */
export interface Policy {
  readonly auth: 'required' | 'optional' | 'none';
  /** `null` only with auth none. */
  readonly validator: ValidatorSelector | null;
  readonly tokenFrom: TokenSources;
  readonly requiredScopes: readonly string[];
  readonly identity: IdentityPlan;
  /** The 403 answer naming every required scope (RFC 6750 §3.1). */
  readonly insufficientScope: PreparedResponse;
}

export interface Upstream {
  readonly origin: string;
  /** The upstream URL's path without trailing "/", prepended to the request's. */
  readonly basePath: string;
}

export interface RouteConfig extends Policy {
  readonly index: number;
  readonly path: string;
  readonly methods: ReadonlySet<string> | null;
  /** `null`: a route used only for decisions (forward-auth), never proxied. */
  readonly upstream: Upstream | null;
  readonly forwardAuthorization: boolean;
  readonly upstreamTimeoutMs: number;
  /** X-HTTP-Method-Override and its kind are honoured (routing by the overriding method) and forwarded; else removed. */
  readonly methodOverride: boolean;
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly headersTimeoutSeconds: number;
  readonly requestTimeoutSeconds: number;
  readonly keepAliveTimeoutSeconds: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
  readonly maxTokenBytes: number;
  readonly maxIdentityValueBytes: number;
  /** Invalid tokens a client may send per minute before it gets 429 (RFC 7662 §4); `null`: no limit. */
  readonly invalidTokensPerMinute: number | null;
  /** The addresses whose X-Forwarded-For is believed when finding the client (SPEC section 8). */
  readonly trustedProxies: readonly string[];
  /** Validator calls one client's new tokens may have in flight, and start per second. */
  readonly clientLimits: { readonly validatorCallsInFlight: number; readonly validatorCallsPerSecond: number };
}

/** Routes sharing one path; a method outside all of their `methods` gets `methodNotAllowed`. */
export interface RouteGroup {
  readonly path: string;
  readonly routes: readonly RouteConfig[];
  readonly methodNotAllowed: PreparedResponse;
}

/** SPEC 7.2: the path, and the policy every question to it is decided by. */
export interface ValidationEndpointConfig {
  readonly path: string;
  readonly policy: Policy;
  /** The 405 for any method but GET and HEAD. */
  readonly methodNotAllowed: PreparedResponse;
}

/** What is being compiled: the gateway (routes proxied, faces served) or the library (validators only). */
export type CompileMode = 'gateway' | 'library';

export interface GatewayConfig {
  readonly server: ServerConfig;
  readonly admin: { readonly host: string; readonly port: number } | null;
  readonly realm: string;
  readonly validators: ReadonlyMap<string, ValidatorConfig>;
  readonly routes: readonly RouteConfig[];
  /** Longest path first, for longest-prefix matching. */
  readonly routeGroups: readonly RouteGroup[];
  /** The same groups with lower-case paths: how a backend that ignores case would route. */
  readonly foldedRouteGroups: readonly RouteGroup[];
  /** A route path has an upper-case letter: every request path gets the case check. */
  readonly routesHaveUpperCase: boolean;
  /** Canonical names (canonicalHeaderName) of every identity header of every route: stripped from every request. */
  readonly identityHeaderNames: ReadonlySet<string>;
  /** The answer of every reason (the reason table), rendered with the realm. */
  readonly answers: Answers;
  /** SPEC 7.1: the decision path (`forwardAuth.path`), or null. */
  readonly forwardAuth: { readonly path: string } | null;
  readonly validationEndpoint: ValidationEndpointConfig | null;
  /** Shared second-level cache across instances (SPEC section 6), or null. */
  readonly redis: { readonly url: string; readonly timeoutMs: number } | null;
}

/**
 * `mode` library: routes are not needed, and every validator keeps the 200 body (the library's
 * `claims`). The gateway keeps it only for the validator the seed's endpoint answers with.
 */
export function compileConfig(raw: RawConfig, problems: Problem[], mode: CompileMode = 'gateway'): GatewayConfig {
  const keepClaims = new Set(mode === 'library' ? Object.keys(raw.validators) : raw.validationEndpoint === undefined ? [] : [raw.validationEndpoint.validator]);
  if (mode === 'gateway') checkFaces(raw, problems);
  const plans: IdentityPlan[] = [];
  const planOwners = new Map<IdentityPlan, Set<string>>();
  const validatorNames = Object.keys(raw.validators);
  const routes: (Omit<RouteConfig, 'validator'> & { validatorNames: string[]; rawValidator: RawRoute['validator'] })[] = [];

  raw.routes.forEach((route, index) => {
    const at = `routes[${index}]`;
    const upstream = route.upstream === undefined ? null : new URL(route.upstream);
    // Without forward-auth every route is proxied; with it, a route may serve decisions only.
    if (upstream === null && raw.forwardAuth === undefined && mode === 'gateway') problems.push({ path: `${at}.upstream`, message: 'is required: the route is proxied (only with forwardAuth may a route serve decisions alone)' });
    else if (upstream !== null && upstream.search !== '') problems.push({ path: `${at}.upstream`, message: 'must not have a query string' });
    if (route.auth === 'none' && route.requiredScopes.length > 0) problems.push({ path: `${at}.requiredScopes`, message: 'has no effect with auth: none' });
    if (route.auth === 'none' && Object.keys(route.identityHeaders).length > 0) problems.push({ path: `${at}.identityHeaders`, message: 'has no effect with auth: none' });
    if (route.auth === 'none' && route.validator !== undefined) problems.push({ path: `${at}.validator`, message: 'has no effect with auth: none' });
    const spellings = new Map<string, string>();
    for (const name of Object.keys(route.identityHeaders)) {
      const canonical = canonicalHeaderName(name);
      if (RESERVED_FOR_IDENTITY.has(canonical)) problems.push({ path: `${at}.identityHeaders.${name}`, message: 'is a header tokengate or the backend relies on; choose another name' });
      const other = spellings.get(canonical);
      if (other !== undefined) problems.push({ path: `${at}.identityHeaders.${name}`, message: `is the same header as ${other} to a backend that ignores case or reads "_" as "-"` });
      spellings.set(canonical, name);
    }

    const planProblems: { header: string; message: string }[] = [];
    const identity = compileIdentityPlan(plans.length, route.identityHeaders, route.identityEncoding, raw.server.maxIdentityValueBytes, planProblems);
    for (const p of planProblems) problems.push({ path: `${at}.identityHeaders.${p.header}`, message: p.message });
    plans.push(identity);

    const names = route.auth === 'none' ? [] : referencedValidators(route, validatorNames, at, problems);
    planOwners.set(identity, new Set(names));
    routes.push({
      index,
      path: normalizeRoutePath(route.path, `${at}.path`, problems),
      methods: route.methods === undefined ? null : new Set(route.methods),
      upstream: upstream === null ? null : Object.freeze({ origin: upstream.origin, basePath: upstream.pathname.replace(/\/+$/, '') }),
      auth: route.auth,
      tokenFrom: Object.freeze({ header: route.tokenFrom.includes('header'), form: route.tokenFrom.includes('form'), query: route.tokenFrom.includes('query') }),
      requiredScopes: Object.freeze([...route.requiredScopes]),
      identity,
      forwardAuthorization: route.forwardAuthorization,
      upstreamTimeoutMs: route.upstreamTimeoutMs,
      methodOverride: route.methodOverride,
      insufficientScope: renderInsufficientScope(raw.realm, route.requiredScopes),
      validatorNames: names,
      rawValidator: route.validator,
    });
  });

  const validators = new Map<string, ValidatorConfig>();
  for (const [name, validator] of Object.entries(raw.validators)) {
    const identityPlans = plans.filter((plan) => planOwners.get(plan)?.has(name));
    validators.set(name, compileValidator(name, validator, identityPlans, raw.realm, keepClaims.has(name), problems));
  }
  for (const route of routes) checkIdentityLanguages(route.index, route.identity, route.validatorNames, raw.validators, problems);

  const compiledRoutes = routes.map(({ validatorNames: names, rawValidator, ...route }) =>
    Object.freeze({ ...route, validator: route.auth === 'none' ? null : selector(rawValidator, names, validators) }),
  );

  const routeGroups = groupRoutes(compiledRoutes, raw.realm, problems);
  return Object.freeze({
    server: Object.freeze({
      host: raw.server.host,
      port: raw.server.port,
      headersTimeoutSeconds: raw.server.headersTimeoutSeconds,
      requestTimeoutSeconds: raw.server.requestTimeoutSeconds,
      keepAliveTimeoutSeconds: raw.server.keepAliveTimeoutSeconds,
      maxConnections: raw.server.maxConnections,
      maxConnectionsPerClient: raw.server.maxConnectionsPerClient,
      maxTokenBytes: raw.server.maxTokenBytes,
      maxIdentityValueBytes: raw.server.maxIdentityValueBytes,
      invalidTokensPerMinute: raw.server.invalidTokenRate?.perMinute ?? null,
      trustedProxies: Object.freeze([...raw.server.trustedProxies]),
      clientLimits: Object.freeze({ ...raw.server.clientLimits }),
    }),
    admin: raw.admin === undefined ? null : Object.freeze({ ...raw.admin }),
    realm: raw.realm,
    validators,
    routes: Object.freeze(compiledRoutes),
    routeGroups,
    foldedRouteGroups: foldRouteGroups(routeGroups, problems),
    routesHaveUpperCase: compiledRoutes.some((route) => /[A-Z]/.test(route.path)),
    identityHeaderNames: new Set(compiledRoutes.flatMap((r) => r.identity.headers.map((h) => canonicalHeaderName(h.name)))),
    answers: renderAnswers(raw.realm),
    forwardAuth: raw.forwardAuth === undefined ? null : Object.freeze({ path: raw.forwardAuth.path }),
    validationEndpoint: compileValidationEndpoint(raw, validators, problems),
    redis: raw.cache?.redis === undefined ? null : Object.freeze({ url: raw.cache.redis, timeoutMs: raw.cache.redisTimeoutMs }),
  });
}

/** A gateway must serve something, and its own paths must not collide. */
function checkFaces(raw: RawConfig, problems: Problem[]): void {
  if (raw.routes.length === 0 && raw.validationEndpoint === undefined) {
    problems.push({ path: 'routes', message: 'must list at least one route (or configure validationEndpoint)' });
  }
  if (raw.forwardAuth !== undefined && raw.routes.length === 0) {
    problems.push({ path: 'forwardAuth', message: 'needs routes: the route an original request matches supplies its policy' });
  }
  const forward = raw.forwardAuth?.path;
  const endpoint = raw.validationEndpoint?.path;
  if (forward !== undefined && endpoint !== undefined && (endpoint === forward || endpoint.startsWith(`${forward}/`) || forward.startsWith(`${endpoint}/`))) {
    problems.push({ path: 'validationEndpoint.path', message: `overlaps forwardAuth.path ${forward}` });
  }
}

/** SPEC 7.2: any token, one validator, no scopes, no identity: the validator's answer is the answer. */
function compileValidationEndpoint(raw: RawConfig, validators: ReadonlyMap<string, ValidatorConfig>, problems: Problem[]): ValidationEndpointConfig | null {
  const endpoint = raw.validationEndpoint;
  if (endpoint === undefined) return null;
  const validator = validators.get(endpoint.validator);
  if (validator === undefined) {
    problems.push({ path: 'validationEndpoint.validator', message: `names no configured validator "${endpoint.validator}"` });
    return null;
  }
  const policy: Policy = Object.freeze({
    auth: 'required',
    validator: Object.freeze({ kind: 'fixed', validator }),
    tokenFrom: Object.freeze({ header: true, form: false, query: false }),
    requiredScopes: Object.freeze([]),
    identity: compileIdentityPlan(-1, {}, 'utf8', raw.server.maxIdentityValueBytes, []),
    insufficientScope: renderInsufficientScope(raw.realm, []),
  });
  return Object.freeze({ path: endpoint.path, policy, methodNotAllowed: renderMethodNotAllowed(raw.realm, ['GET', 'HEAD']) });
}

/**
 * A route path in the form request paths are matched in (normalizePath: unreserved characters
 * decoded, other escapes in upper case); `/orders/` and `/orders` are the same route, since
 * matching is on segment boundaries anyway.
 */
function normalizeRoutePath(path: string, at: string, problems: Problem[]): string {
  const trimmed = path.replace(/\/+$/, '') || '/';
  const normal = normalizePath(trimmed);
  if (normal === null) problems.push({ path: at, message: 'is not a normal path: no "." or ".." segments, empty segments, "\\", "#", encoded "/" or invalid escapes' });
  return normal ?? trimmed;
}

function referencedValidators(route: RawRoute, known: readonly string[], at: string, problems: Problem[]): string[] {
  const choice = route.validator;
  const check = (name: string, path: string): string[] => {
    if (known.includes(name)) return [name];
    problems.push({ path, message: `names no configured validator "${name}"` });
    return [];
  };
  if (choice === undefined) {
    if (known.length === 1) return [known[0]];
    problems.push({
      path: `${at}.validator`,
      message: known.length === 0 ? 'is required: no validators are configured' : 'is required when more than one validator is configured',
    });
    return [];
  }
  if (typeof choice === 'string') return check(choice, `${at}.validator`);
  const names = Object.entries(choice.map).flatMap(([value, name]) => check(name, `${at}.validator.map.${value}`));
  if (choice.default !== undefined) names.push(...check(choice.default, `${at}.validator.default`));
  return [...new Set(names)];
}

function selector(choice: RawRoute['validator'], names: readonly string[], validators: ReadonlyMap<string, ValidatorConfig>): ValidatorSelector | null {
  if (names.length === 0) return null; // only after a reported problem: the config is refused
  if (choice === undefined || typeof choice === 'string') return Object.freeze({ kind: 'fixed', validator: validators.get(names[0])! });
  const map = new Map<string, ValidatorConfig>();
  for (const [value, name] of Object.entries(choice.map)) {
    const validator = validators.get(name);
    if (validator !== undefined) map.set(value.toLowerCase(), validator);
  }
  return Object.freeze({
    kind: 'byHeader',
    header: choice.byHeader.toLowerCase(),
    map,
    fallback: choice.default === undefined ? null : (validators.get(choice.default) ?? null),
  });
}

function groupRoutes(routes: readonly RouteConfig[], realm: string, problems: Problem[]): readonly RouteGroup[] {
  const byPath = new Map<string, RouteConfig[]>();
  for (const route of routes) {
    const group = byPath.get(route.path);
    if (group === undefined) byPath.set(route.path, [route]);
    else group.push(route);
  }
  const groups: RouteGroup[] = [];
  for (const [path, members] of byPath) {
    const seen = new Set<string>();
    for (const route of members) {
      if (members.length > 1 && route.methods === null) {
        problems.push({ path: `routes[${route.index}].methods`, message: `is required: another route has the same path ${path}` });
      }
      for (const method of route.methods ?? []) {
        if (seen.has(method)) problems.push({ path: `routes[${route.index}].methods`, message: `${method} on ${path} is already taken by an earlier route` });
        seen.add(method);
      }
    }
    // RFC 9110 §9.3.2: HEAD is GET without the body, and most backends answer it with their GET
    // handler, so it must be judged by the GET route's policy: never by a route of its own.
    const getRoute = members.find((route) => route.methods?.has('GET') === true);
    for (const route of members) {
      if (getRoute !== undefined && route !== getRoute && route.methods?.has('HEAD') === true) {
        problems.push({ path: `routes[${route.index}].methods`, message: `HEAD on ${path} is judged with GET (routes[${getRoute.index}]): list it there, or leave it out (HEAD is allowed wherever GET is)` });
      }
    }
    if (seen.has('GET')) seen.add('HEAD'); // RFC 9110 §9.3.2
    const allowed = [...seen].sort();
    groups.push(Object.freeze({ path, routes: Object.freeze(members), methodNotAllowed: renderMethodNotAllowed(realm, allowed) }));
  }
  groups.sort((a, b) => b.path.length - a.path.length);
  return Object.freeze(groups);
}

/**
 * The route groups as a backend that ignores case reads them. Two paths that differ only in case
 * would be one route to such a backend: refused, since no request could be routed safely.
 */
function foldRouteGroups(groups: readonly RouteGroup[], problems: Problem[]): readonly RouteGroup[] {
  const seen = new Map<string, RouteGroup>();
  for (const group of groups) {
    const folded = group.path.toLowerCase();
    const other = seen.get(folded);
    if (other !== undefined) {
      problems.push({ path: `routes[${group.routes[0].index}].path`, message: `differs from routes[${other.routes[0].index}].path (${other.path}) only in case; a backend that ignores case reads them as one` });
      continue;
    }
    seen.set(folded, group);
  }
  return Object.freeze([...seen.values()].map((group) => Object.freeze({ ...group, path: group.path.toLowerCase() })));
}

/**
 * SPEC 7.4: a route's identity paths must be in the language of its validators' answers: XPath
 * (beginning with "/") needs a validator that may answer XML, JSONPath one that may answer JSON.
 */
function checkIdentityLanguages(index: number, plan: IdentityPlan, names: readonly string[], validators: RawConfig['validators'], problems: Problem[]): void {
  if (!plan.hasXPath && !plan.hasJsonPath) return;
  for (const name of names) {
    const v = validators[name];
    if (v === undefined) continue;
    const jsonOnly = v.accept === 'jwt' ? 'accept: jwt' : v.style === 'rfc7662' ? 'style rfc7662' : v.format === 'json' ? 'format: json' : null;
    for (const header of plan.headers) {
      const at = `routes[${index}].identityHeaders.${header.name}`;
      if (header.xpath !== null && jsonOnly !== null) problems.push({ path: at, message: `is XPath (it begins with "/"), but validator "${name}" reads JSON answers only (${jsonOnly}); use a JSONPath` });
      if (header.query !== null && v.format === 'xml') problems.push({ path: at, message: `is JSONPath, but validator "${name}" has format: xml; an XPath begins with "/"` });
    }
  }
}

/** RFC 6749 §2.3.1: client id and secret are form-encoded before they are joined for Basic. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

function acceptHeader(raw: RawValidator): string {
  if (raw.accept === 'jwt') return INTROSPECTION_JWT_MEDIA_TYPE; // RFC 9701 §4
  if (raw.style === 'rfc7662') return 'application/json';
  if (raw.format === 'xml') return 'application/xml, text/xml;q=0.9, */*;q=0.5';
  return 'application/json, */*;q=0.5';
}

function compileValidator(name: string, raw: RawValidator, identityPlans: readonly IdentityPlan[], realm: string, keepClaims: boolean, problems: Problem[]): ValidatorConfig {
  const at = `validators.${name}`;
  const url = new URL(raw.url);
  const endpoint = `${url.origin}${url.pathname}`;
  for (const [key, value] of Object.entries(raw.query)) url.searchParams.append(key, value);
  const headers: Record<string, string> = { accept: acceptHeader(raw) };
  for (const [key, value] of Object.entries(raw.headers)) headers[key.toLowerCase()] = value;
  let formSuffix = '';
  let clientAssertion: ClientAssertionSettings | null = null;
  const auth = raw.clientAuth;
  if (auth !== undefined) {
    switch (auth.method) {
      case 'client_secret_basic':
        headers.authorization = `Basic ${Buffer.from(`${formEncode(auth.clientId!)}:${formEncode(auth.clientSecret!)}`).toString('base64')}`;
        break;
      case 'client_secret_post':
        formSuffix = `&client_id=${formEncode(auth.clientId!)}&client_secret=${formEncode(auth.clientSecret!)}`;
        break;
      case 'private_key_jwt': {
        // RFC 7521 §4.2: client_id may be left out, the assertion's sub names the client.
        formSuffix = `&client_assertion_type=${formEncode(JWT_BEARER_ASSERTION_TYPE)}`;
        const loaded = loadClientAssertionKey(auth.privateKey!, auth.alg, `${at}.clientAuth`, problems);
        if (loaded !== null) {
          clientAssertion = Object.freeze({ clientId: auth.clientId!, audience: auth.audience ?? endpoint, alg: loaded.alg, kid: auth.kid ?? null, key: loaded.key });
        }
        break;
      }
      case 'bearer':
        headers.authorization = `Bearer ${auth.token!}`;
        break;
      case 'none':
        if (auth.clientId !== undefined) formSuffix = `&client_id=${formEncode(auth.clientId)}`;
        break;
    }
  }
  if (raw.style === 'rfc7662') headers['content-type'] = 'application/x-www-form-urlencoded';
  const outbound: OutboundSettings = Object.freeze({ proxy: compileProxy(raw.proxy), tls: readTlsMaterial(raw.tls, `${at}.tls`, problems) });
  // undici's proxy agent adds a Host header to a request that has none, in place: give it one.
  if (outbound.proxy !== null) headers.host = url.host;
  const identityOffsets = new Map<IdentityPlan, number>();
  let width = 0;
  for (const plan of identityPlans) {
    identityOffsets.set(plan, width);
    width += plan.headers.length;
  }
  const method = raw.method ?? (raw.style === 'rfc7662' ? 'POST' : 'GET');
  const signedAnswers = raw.accept === 'jwt';
  const jwtAnswers: JwtAnswerSettings | null = !signedAnswers
    ? null
    : Object.freeze({
        jwksUrl: raw.jwksUrl!,
        issuer: raw.requireIssuer!,
        audience: auth?.clientId ?? '',
        cooldownMs: raw.jwksCooldownSeconds * 1000,
        clockSkewSeconds: raw.clockSkewSeconds,
        timeoutMs: raw.timeoutMs,
      });
  // Secrets (client secret, private key, proxy credentials, header values) are left out: rotating
  // one does not change a judgement. Proxy and TLS change the way out, not what an answer means.
  const layout = JSON.stringify({
    format: RESULT_FORMAT,
    name,
    url: url.href,
    style: raw.style,
    method,
    headers: Object.keys(headers).filter((key) => key !== 'host').sort(),
    clientAuth: auth === undefined ? null : [auth.method, auth.clientId ?? null],
    requireActive: raw.requireActive,
    clockSkewSeconds: raw.clockSkewSeconds,
    keepClaims,
    plans: identityPlans.map((plan) => [plan.encoding, plan.headers.map((h) => [h.name, h.path])]),
    answers: [raw.format, raw.accept, raw.jwksUrl ?? null, raw.requireIssuer ?? null, raw.requireAudience ?? null],
  });
  return Object.freeze({
    name,
    style: raw.style,
    method,
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    headers: Object.freeze(headers),
    formSuffix,
    timeoutMs: raw.timeoutMs,
    requireActive: raw.requireActive,
    cache: Object.freeze({ ...raw.cache }),
    onUnavailable: raw.onUnavailable,
    staleIfErrorSeconds: raw.staleIfErrorSeconds,
    clockSkewSeconds: raw.clockSkewSeconds,
    circuitBreaker: Object.freeze({ ...raw.circuitBreaker }),
    maxConcurrentCalls: raw.maxConcurrentCalls,
    identityPlans: Object.freeze(identityPlans),
    identityOffsets,
    identityWidth: width,
    keepClaims,
    resultDigest: hash('sha256', layout, 'binary').slice(0, 8),
    unavailableAnswer: raw.onUnavailable === 'deny-401' ? renderUnavailableAsInvalid(realm) : renderUnavailable(realm),
    format: raw.format,
    requireIssuer: raw.requireIssuer ?? null,
    requireAudience: raw.requireAudience ?? null,
    signedAnswers,
    outbound,
    clientAssertion,
    jwtAnswers,
  });
}
