/**
 * The configuration file's schema (SPEC section 3): every key, its default, and the message a
 * user sees when it is wrong. Unknown keys are errors, because a typo must never silently turn a
 * security setting off.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { RESERVED_FOR_VALIDATOR } from '../http/header-names.js';
import { FIELD_VALUE, SCOPE_TOKEN, TOKEN } from '../http/syntax.js';
import { identityPathProblem } from '../identity/plan.js';

/** A number written in YAML, or a string of digits that `${NAME}` produced. */
function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(
    (value) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
    z
      .number({ error: `must be a whole number from ${min} to ${max}` })
      .int({ error: `must be a whole number from ${min} to ${max}` })
      .min(min, { error: `must be a whole number from ${min} to ${max}` })
      .max(max, { error: `must be a whole number from ${min} to ${max}` }),
  );
}

/** A YAML boolean, or "true"/"false" from `${NAME}`. */
const boolean = z.preprocess(
  (value) => (value === 'true' ? true : value === 'false' ? false : value),
  z.boolean({ error: 'must be true or false' }),
);

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(', ')}` });
}

function httpUrl() {
  return z.string({ error: 'must be an http or https URL' }).refine(
    (value) => {
      if (!URL.canParse(value)) return false;
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.hash === '';
    },
    { error: 'must be an http or https URL' },
  );
}

const headerName = z.string().regex(TOKEN, { error: 'must be a valid HTTP header name' });
const headerValue = z.string({ error: 'must be a string' }).regex(FIELD_VALUE, {
  error: 'must not contain CR, LF, NUL or other control characters',
});
const headerMap = z.record(headerName, headerValue, { error: 'must be a map of header names to strings' });

const hostname = z.string({ error: 'must be a host name or IP address' }).min(1, { error: 'must be a host name or IP address' });

const listen = (defaultHost: string, defaultPort: number) =>
  z.strictObject({
    host: hostname.default(defaultHost),
    port: integer(0, 65535).default(defaultPort),
  });

/** An IPv4 or IPv6 address, or a CIDR block of them. */
const cidr = z.string({ error: 'must be an IP address or CIDR block' }).refine(
  (value) => {
    const [address, bits, extra] = value.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || extra !== undefined) return false;
    if (bits === undefined) return true;
    return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
  },
  { error: 'must be an IP address or CIDR block (10.0.0.0/8, fd00::/8)' },
);

/**
 * SPEC section 8 and beyond: what one client, or a slow one, may cost the gateway. Defaults are
 * on; `invalidTokenRate` is off unless configured.
 */
const serverLimits = {
  headersTimeoutSeconds: integer(1, 3_600).default(30),
  requestTimeoutSeconds: integer(1, 86_400).default(300),
  keepAliveTimeoutSeconds: integer(1, 3_600).default(5),
  maxConnections: integer(1, 1_000_000).default(10_000),
  maxConnectionsPerClient: integer(1, 1_000_000).default(1_000),
  maxTokenBytes: integer(16, 1_048_576).default(8_192),
  maxIdentityValueBytes: integer(1, 65_536).default(4_096),
  invalidTokenRate: z.strictObject({ perMinute: integer(1, 1_000_000) }).optional(),
  trustedProxies: z.array(cidr, { error: 'must be a list of IP addresses or CIDR blocks' }).default([]),
  clientLimits: z
    .strictObject({
      validatorCallsInFlight: integer(1, 100_000).default(32),
      validatorCallsPerSecond: integer(1, 1_000_000).default(100),
    })
    .default({ validatorCallsInFlight: 32, validatorCallsPerSecond: 100 }),
};

/** RFC 7518 §3.1 asymmetric JWS algorithms a client assertion may be signed with (no "none", no HMAC). */
export const CLIENT_ASSERTION_ALGS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'] as const;

const nonEmpty = () => z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' });

const clientAuth = z
  .strictObject({
    method: oneOf(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'bearer', 'none']),
    clientId: nonEmpty().optional(),
    clientSecret: nonEmpty().optional(),
    token: nonEmpty().optional(),
    // RFC 7523 §2.2 private_key_jwt: a PEM file (PKCS#8, PKCS#1 or SEC1), the JWS algorithm (default:
    // what the key is: ES256 for P-256, ES384, ES512, RS256 for RSA, EdDSA for Ed25519), the JWS
    // `kid` header, and the assertion's `aud` (default: the validator's URL without its query).
    privateKey: nonEmpty().optional(),
    alg: oneOf(CLIENT_ASSERTION_ALGS).optional(),
    kid: nonEmpty().regex(FIELD_VALUE, { error: 'must not contain control characters' }).optional(),
    audience: nonEmpty().optional(),
  })
  .superRefine((auth, ctx) => {
    const needsSecret = auth.method === 'client_secret_basic' || auth.method === 'client_secret_post';
    const keyed = auth.method === 'private_key_jwt';
    if ((needsSecret || keyed) && auth.clientId === undefined) ctx.addIssue({ code: 'custom', path: ['clientId'], message: `is required with ${auth.method}` });
    if (needsSecret && auth.clientSecret === undefined) ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: `is required with ${auth.method}` });
    if (!needsSecret && auth.clientSecret !== undefined) ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: `is only used with client_secret_basic or client_secret_post` });
    if (auth.method === 'bearer' && auth.token === undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'is required with bearer' });
    if (auth.method !== 'bearer' && auth.token !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'is only used with bearer' });
    if (auth.token !== undefined && !FIELD_VALUE.test(auth.token)) ctx.addIssue({ code: 'custom', path: ['token'], message: 'must not contain control characters' });
    if (keyed && auth.privateKey === undefined) ctx.addIssue({ code: 'custom', path: ['privateKey'], message: 'is required with private_key_jwt (a PEM file path)' });
    for (const key of ['privateKey', 'alg', 'kid', 'audience'] as const) {
      if (!keyed && auth[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'is only used with private_key_jwt' });
    }
  });

function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * SPEC 7.4 `proxy`: `env` (HTTP_PROXY / HTTPS_PROXY / NO_PROXY decide), or an http(s) proxy URL,
 * with credentials for Proxy-Authorization. The value is never repeated in a message: it may hold
 * a password.
 */
const proxy = z.string({ error: 'must be "env" or an http:// or https:// proxy URL' }).superRefine((value, ctx) => {
  if (value === 'env') return;
  const url = URL.canParse(value) ? new URL(value) : null;
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    ctx.addIssue({ code: 'custom', message: 'must be "env" or an http:// or https:// proxy URL (http://user:password@host:port)' });
  } else if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    ctx.addIssue({ code: 'custom', message: 'must be a proxy URL without a path, query or fragment' });
  } else if (url.password !== '' && url.username === '') {
    ctx.addIssue({ code: 'custom', message: 'has a password without a user name' });
  } else if (!decodes(url.username) || !decodes(url.password)) {
    ctx.addIssue({ code: 'custom', message: 'has a user name or password that is not percent-encoded (write %25 for "%", %40 for "@", %3A for ":")' });
  }
});

/** SPEC 7.4 `tls`: PEM file paths, read when the configuration is loaded. */
const tls = z
  .strictObject({
    ca: nonEmpty().optional(),
    cert: nonEmpty().optional(),
    key: nonEmpty().optional(),
  })
  .superRefine((t, ctx) => {
    if (t.cert !== undefined && t.key === undefined) ctx.addIssue({ code: 'custom', path: ['key'], message: 'is required with tls.cert (mTLS, RFC 8705)' });
    if (t.key !== undefined && t.cert === undefined) ctx.addIssue({ code: 'custom', path: ['cert'], message: 'is required with tls.key (mTLS, RFC 8705)' });
    if (t.ca === undefined && t.cert === undefined && t.key === undefined) ctx.addIssue({ code: 'custom', message: 'must name ca, or cert and key' });
  });

const validatorCache = z.strictObject({
  ttlSeconds: integer(0).default(30),
  negativeTtlSeconds: integer(0).default(5),
  maxEntries: integer(1).default(100_000),
  /** The cache's bound in bytes (results vary in size: entries alone are no bound on memory). */
  maxBytes: integer(65_536).default(64 * 1024 * 1024),
});

const requireActive = z.preprocess(
  (value) => (value === true ? 'true' : value === false ? 'false' : value),
  oneOf(['auto', 'true', 'false']),
);

const validator = z
  .strictObject({
    url: httpUrl(),
    style: oneOf(['bearer', 'rfc7662']).default('bearer'),
    method: oneOf(['GET', 'POST']).optional(),
    query: z.record(z.string(), z.string({ error: 'must be a string' }), { error: 'must be a map of names to strings' }).default({}),
    headers: headerMap.default({}),
    clientAuth: clientAuth.optional(),
    timeoutMs: integer(1, 600_000).default(2000),
    requireActive: requireActive.default('auto'),
    cache: validatorCache.default({ ttlSeconds: 30, negativeTtlSeconds: 5, maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 }),
    onUnavailable: oneOf(['deny', 'deny-401', 'stale']).default('deny'),
    staleIfErrorSeconds: integer(0).default(300),
    clockSkewSeconds: integer(0, 86_400).default(30),
    // Beyond SPEC section 3: protection of a validator that is down or slow.
    circuitBreaker: z
      .strictObject({ failures: integer(0, 1_000).default(5), cooldownSeconds: integer(1, 3_600).default(10) })
      .default({ failures: 5, cooldownSeconds: 10 }),
    maxConcurrentCalls: integer(1, 100_000).default(256),
    // SPEC 7.4, more dialects.
    format: oneOf(['auto', 'json', 'xml']).default('auto'),
    proxy: proxy.optional(),
    tls: tls.optional(),
    accept: oneOf(['json', 'jwt']).default('json'),
    jwksUrl: httpUrl().optional(),
    /** After a JWKS fetch, how long an unknown `kid` waits before it may cause another (jose's cooldown). */
    jwksCooldownSeconds: integer(1, 3_600).default(30),
    requireIssuer: nonEmpty().optional(),
    requireAudience: nonEmpty().optional(),
  })
  .superRefine((v, ctx) => {
    // RFC 7662 §2.1: the introspection request is a POST with a form body.
    if (v.style === 'rfc7662' && v.method === 'GET') ctx.addIssue({ code: 'custom', path: ['method'], message: 'must be POST with style rfc7662 (RFC 7662 section 2.1)' });
    if (v.style === 'bearer' && v.clientAuth !== undefined && v.clientAuth.method !== 'none') {
      ctx.addIssue({
        code: 'custom',
        path: ['clientAuth'],
        message: 'is only for style rfc7662: style bearer sends the caller\'s token in Authorization (use query or headers for an API key)',
      });
    }
    for (const name of Object.keys(v.headers)) {
      if (RESERVED_FOR_VALIDATOR.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['headers', name], message: 'is set by tokengate and cannot be configured' });
      if (name.toLowerCase() === 'accept' && v.accept === 'jwt') ctx.addIssue({ code: 'custom', path: ['headers', name], message: 'is set by accept: jwt (RFC 9701)' });
    }
    // RFC 7662 §2.2 and RFC 9701: an introspection answer is JSON (signed or not), never XML.
    if (v.format === 'xml' && v.style === 'rfc7662') ctx.addIssue({ code: 'custom', path: ['format'], message: 'cannot be xml with style rfc7662: an introspection answer is a JSON object (RFC 7662 section 2.2)' });
    if (v.format === 'xml' && v.accept === 'jwt') ctx.addIssue({ code: 'custom', path: ['format'], message: 'cannot be xml with accept: jwt: the answer is a JWT (RFC 9701)' });
    if (v.accept === 'jwt') {
      if (v.style !== 'rfc7662') ctx.addIssue({ code: 'custom', path: ['accept'], message: 'jwt needs style rfc7662 (RFC 9701 signs introspection answers)' });
      if (v.jwksUrl === undefined) ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: 'is required with accept: jwt: the keys that sign the answers' });
      if (v.requireIssuer === undefined) ctx.addIssue({ code: 'custom', path: ['requireIssuer'], message: 'is required with accept: jwt: the answer\'s iss is checked against it (RFC 9701 section 5)' });
      if (v.clientAuth?.clientId === undefined) ctx.addIssue({ code: 'custom', path: ['clientAuth', 'clientId'], message: 'is required with accept: jwt: the answer\'s aud must name the gateway\'s client (RFC 9701 section 5)' });
    } else if (v.jwksUrl !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: 'is only used with accept: jwt' });
    }
    if (v.tls !== undefined && !v.url.startsWith('https:') && !(v.jwksUrl?.startsWith('https:') ?? false)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'has no effect: url is not https' });
    }
  });

/**
 * An identity path (SPEC 3 and 7.4): one beginning with "/" is XPath 1.0 (for XML answers), anything
 * else RFC 9535 JSONPath. Checked here (not only when compiled) so that its problems come with the others.
 */
const identityPath = z
  .string({ error: 'must be a JSONPath or XPath string' })
  .min(1, { error: 'must be a JSONPath or XPath string' })
  .superRefine((path, ctx) => {
    const problem = identityPathProblem(path);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

const validatorChoice = z.union(
  [
    z.string().min(1),
    z.strictObject({
      byHeader: headerName,
      map: z.record(z.string(), z.string({ error: 'must be a validator name' }), { error: 'must be a map of header values to validator names' }),
      default: z.string({ error: 'must be a validator name' }).optional(),
    }),
  ],
  { error: 'must be a validator name or { byHeader, map, default }' },
);

const route = z.strictObject({
  path: z
    .string({ error: 'must be a path starting with "/"' })
    .regex(/^\/[\x21-\x7e]*$/, { error: 'must be a path starting with "/" without spaces, query or fragment' })
    .refine((p) => !p.includes('?') && !p.includes('#'), { error: 'must be a path starting with "/" without spaces, query or fragment' })
    .refine((p) => !p.includes(';'), { error: 'must not contain ";" (requests are matched with and without ;params)' }),
  methods: z.array(z.string().regex(TOKEN, { error: 'must be an HTTP method' }).transform((m) => m.toUpperCase()), { error: 'must be a list of HTTP methods' }).min(1).optional(),
  upstream: httpUrl().optional(),
  auth: oneOf(['required', 'optional', 'none']).default('required'),
  validator: validatorChoice.optional(),
  tokenFrom: z.array(oneOf(['header', 'form', 'query']), { error: 'must be a list of header, form, query' }).min(1, { error: 'must name at least one of header, form, query' }).default(['header']),
  requiredScopes: z.array(z.string().regex(SCOPE_TOKEN, { error: 'must be a scope token (RFC 6749 section 3.3)' }), { error: 'must be a list of scopes' }).default([]),
  identityHeaders: z.record(headerName, identityPath, { error: 'must be a map of header names to JSONPath or XPath strings' }).default({}),
  identityEncoding: oneOf(['utf8', 'percent']).default('utf8'),
  forwardAuthorization: boolean.default(true),
  upstreamTimeoutMs: integer(1, 3_600_000).default(30_000),
  /** Honour X-HTTP-Method-Override / ?_method= here: the route is chosen for the overriding method. */
  methodOverride: boolean.default(false),
});

/** A path the gateway answers itself (never proxied, never routed). */
const facePath = z
  .string({ error: 'must be a path starting with "/"' })
  .regex(/^\/[A-Za-z0-9\-._~!$&'()*+,=:@/]*$/, { error: 'must be a plain path starting with "/" (no query, no escapes)' })
  .refine((p) => p !== '/', { error: 'must not be "/": every request would be a question' });

export const configSchema = z.strictObject({
  server: z
    .strictObject({ host: hostname.default('0.0.0.0'), port: integer(0, 65535).default(8080), ...serverLimits })
    .default({ host: '0.0.0.0', port: 8080, headersTimeoutSeconds: 30, requestTimeoutSeconds: 300, keepAliveTimeoutSeconds: 5, maxConnections: 10_000, maxConnectionsPerClient: 1_000, maxTokenBytes: 8_192, maxIdentityValueBytes: 4_096, trustedProxies: [], clientLimits: { validatorCallsInFlight: 32, validatorCallsPerSecond: 100 } })
    .superRefine((server, ctx) => {
      if (server.requestTimeoutSeconds < server.headersTimeoutSeconds) ctx.addIssue({ code: 'custom', path: ['requestTimeoutSeconds'], message: 'must be at least headersTimeoutSeconds' });
    }),
  admin: listen('127.0.0.1', 9090).optional(),
  realm: z
    .string({ error: 'must be a string' })
    .regex(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/, { error: 'must be printable ASCII without quotes or backslashes (RFC 6750 realm)' })
    .default('tokengate'),
  validators: z.record(
    z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'validator names may use letters, digits, "_", "." and "-"' }),
    validator,
    { error: 'must be a map of validator names to validators' },
  ).default({}),
  cache: z
    .strictObject({
      redis: z
        .string({ error: 'must be a redis:// or rediss:// URL' })
        .refine((value) => URL.canParse(value) && ['redis:', 'rediss:'].includes(new URL(value).protocol), { error: 'must be a redis:// or rediss:// URL' })
        .optional(),
      /** How long a request waits for Redis before it goes on without it. */
      redisTimeoutMs: integer(1, 10_000).default(50),
    })
    .optional(),
  routes: z.array(route, { error: 'must be a list of routes' }).default([]),
  /** SPEC 7.1: a decision endpoint for the gateway a team already runs. */
  forwardAuth: z.strictObject({ path: facePath }).optional(),
  /** SPEC 7.2: the seed's validation endpoint, served in front of a validator. */
  validationEndpoint: z.strictObject({ path: facePath, validator: z.string({ error: 'must be a validator name' }).min(1, { error: 'must be a validator name' }) }).optional(),
});

export type RawConfig = z.output<typeof configSchema>;
export type RawValidator = RawConfig['validators'][string];
export type RawRoute = RawConfig['routes'][number];
