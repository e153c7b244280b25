/**
 * Header names the gateway treats specially, in one place: what is hop-by-hop, what it replaces
 * when it forwards, and which names configuration may not take over.
 */

/** RFC 9110 §7.6.1 hop-by-hop fields (plus the obsolete Proxy-Connection and HTTP/2's settings). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'http2-settings',
]);

/**
 * What a client may not say for the gateway: who the client is and where the request came in
 * (backends behind a proxy believe Forwarded, X-Real-IP, True-Client-IP and their kin), and which
 * path it is really for (X-Original-URL and X-Rewrite-URL make IIS URL Rewrite, and Symfony and Zend
 * before CVE-2018-14773, serve another path than the one the route was chosen for).
 */
const GATEWAY_CLAIMS = [
  'forwarded', 'x-forwarded-port', 'x-forwarded-server', 'x-forwarded-prefix', 'x-forwarded-ssl', 'x-forwarded-scheme', 'x-forwarded-protocol',
  'x-real-ip', 'true-client-ip', 'x-client-ip', 'x-cluster-client-ip', 'cf-connecting-ip', 'fastly-client-ip',
  'x-original-url', 'x-rewrite-url', 'x-original-uri',
];

/**
 * Request fields never copied upstream: hop-by-hop ones, those undici sets itself, the gateway's
 * own (X-Forwarded-For/-Proto/-Host, X-Request-Id: the client's when it is a plain token, else a new
 * one), and what a client may not claim (GATEWAY_CLAIMS). Matched in canonical form (any case, "_"
 * for "-").
 */
export const NOT_FORWARDED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'host', 'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', ...GATEWAY_CLAIMS]);

/**
 * Method-override conventions (Express method-override, Rails, Symfony, Google APIs): a backend that
 * honours one acts on another method than the one the route's policy was chosen for.
 */
export const METHOD_OVERRIDE_HEADERS: readonly string[] = ['x-http-method-override', 'x-http-method', 'x-method-override'];
/** The query parameter of the same convention (`?_method=DELETE`). */
export const METHOD_OVERRIDE_PARAM = '_method';

/** What is not forwarded on a route that does not opt in to method overrides (the default). */
export const NOT_FORWARDED_NOR_OVERRIDES: ReadonlySet<string> = new Set([...NOT_FORWARDED, ...METHOD_OVERRIDE_HEADERS]);

/** Names a backend relies on for framing, routing or credentials: no identity header may take one. */
export const RESERVED_FOR_IDENTITY: ReadonlySet<string> = new Set([...NOT_FORWARDED, 'content-length', 'content-type', 'authorization', 'cookie', 'x-request-id']);

/** Names the validator call owns; configured `headers` cannot override them. */
export const RESERVED_FOR_VALIDATOR: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'authorization', 'host', 'content-length', 'content-type', 'expect']);

/**
 * The one spelling of a header name that every backend reads alike: lower case, "_" as "-" (CGI,
 * WSGI, Rack and PHP turn both into HTTP_X_USER_ID, and nginx may too). Two names with the same
 * canonical form are the same header to some backend.
 */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes('_') ? lower.replaceAll('_', '-') : lower;
}
