/**
 * The way out to a validator (SPEC 7.4): an undici Dispatcher per validator, made once per
 * configuration: a keep-alive Pool when it is reached directly, a ProxyAgent through `proxy:`
 * (CONNECT tunnels for https, absolute-form requests for http), an EnvHttpProxyAgent with
 * `proxy: env` only. HTTP_PROXY / HTTPS_PROXY / NO_PROXY are otherwise never read: a stray
 * variable must not change where the gateway sends tokens. `tls:` material (a custom CA, a client
 * certificate for RFC 8705 mTLS) is read and checked when the configuration is loaded, and applies
 * to every TLS connection the validator's calls make (the validator, and its jwksUrl).
 *
 * Proxy credentials are taken out of the URL at load time and sent as `Proxy-Authorization: Basic`;
 * the URL the dispatcher holds has none, and no message ever names more than the proxy's host.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { Agent, EnvHttpProxyAgent, Pool, ProxyAgent, type Dispatcher } from 'undici';
import type { ValidatorConfig } from '../config/compile.js';
import type { Problem } from '../config/problems.js';
import { codeOf } from '../http/failure.js';
import type { UnavailableReason } from '../pipeline/reasons.js';

export interface ProxySettings {
  /** `http(s)://host:port`, without credentials. */
  readonly uri: string;
  /** `Basic …` from the URL's user and password; `null` without credentials. */
  readonly authorization: string | null;
}

/** PEM texts, as read from the `tls` files. */
export interface TlsMaterial {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface OutboundSettings {
  /** `null`: direct; `env`: as HTTP_PROXY / HTTPS_PROXY / NO_PROXY say. */
  readonly proxy: ProxySettings | 'env' | null;
  readonly tls: TlsMaterial | null;
}

/** `proxy:` as configured (schema-checked) -> where to connect and what to authenticate with. */
export function compileProxy(value: string | undefined): ProxySettings | 'env' | null {
  if (value === undefined) return null;
  if (value === 'env') return 'env';
  const url = new URL(value);
  // RFC 3986 §3.2.1 userinfo is percent-encoded in the URL; Basic (RFC 7617) wants it decoded.
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const authorization = user === '' ? null : `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
  return Object.freeze({ uri: `${url.protocol}//${url.host}`, authorization });
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readPem(path: string, at: string, problems: Problem[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    problems.push({ path: at, message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
    return undefined;
  }
}

/**
 * Reads and checks the `tls` files: `ca` must hold PEM certificates, `cert` one whose key is `key`.
 * Every problem names its key (`validators.v.tls.ca: cannot read ca.pem (ENOENT)`). Relative paths
 * are read from the working directory.
 */
export function readTlsMaterial(tls: { ca?: string; cert?: string; key?: string } | undefined, at: string, problems: Problem[]): TlsMaterial | null {
  if (tls === undefined) return null;
  const material: { ca?: string; cert?: string; key?: string } = {};
  if (tls.ca !== undefined) {
    const ca = readPem(tls.ca, `${at}.ca`, problems);
    if (ca !== undefined) {
      const blocks = ca.match(PEM_CERTIFICATE) ?? [];
      if (blocks.length === 0) problems.push({ path: `${at}.ca`, message: `${tls.ca} holds no PEM certificate` });
      for (const block of blocks) {
        try {
          new X509Certificate(block);
        } catch (error) {
          problems.push({ path: `${at}.ca`, message: `${tls.ca} holds a certificate that cannot be read (${(error as Error).message})` });
          break;
        }
      }
      material.ca = ca;
    }
  }
  if (tls.cert !== undefined && tls.key !== undefined) {
    const cert = readPem(tls.cert, `${at}.cert`, problems);
    const key = readPem(tls.key, `${at}.key`, problems);
    let certificate: X509Certificate | undefined;
    if (cert !== undefined) {
      try {
        certificate = new X509Certificate(cert);
        material.cert = cert;
      } catch (error) {
        problems.push({ path: `${at}.cert`, message: `${tls.cert} is not a PEM certificate (${(error as Error).message})` });
      }
    }
    if (key !== undefined) {
      try {
        const privateKey = createPrivateKey(key);
        material.key = key;
        if (certificate !== undefined && !certificate.checkPrivateKey(privateKey)) {
          problems.push({ path: `${at}.key`, message: `is not the private key of ${tls.cert}` });
        }
      } catch (error) {
        problems.push({ path: `${at}.key`, message: `${tls.key} is not an unencrypted PEM private key (${(error as Error).message})` });
      }
    }
  }
  return Object.freeze(material);
}

/** A validator's outbound bounds (SPEC section 8: every outbound call has a deadline). */
function bounds(validator: ValidatorConfig) {
  return {
    // As many connections as calls may wait: beyond maxConcurrentCalls a call is refused at once, never queued.
    connections: validator.maxConcurrentCalls,
    pipelining: 1,
    headersTimeout: validator.timeoutMs,
    bodyTimeout: validator.timeoutMs,
    keepAliveTimeout: 30_000,
  };
}

function tlsOptions(validator: ValidatorConfig): { timeout: number; ca?: string; cert?: string; key?: string } {
  return { ...validator.outbound.tls, timeout: validator.timeoutMs };
}

type Connector = (options: object, callback: (error: Error | null, socket: unknown) => void) => unknown;

/** A connection attempt that failed: never "recoverable", so undici fails the waiting calls. */
class ConnectFailedError extends Error {
  readonly code = 'TOKENGATE_CONNECT_FAILED';
  constructor(cause: Error) {
    super(`the connection failed before the request was sent (${(cause as { code?: string }).code ?? cause.name})`, { cause });
    this.name = 'ConnectFailedError';
  }
}

/**
 * undici (7.30) treats a connect failure coded UND_ERR_SOCKET as recoverable: it keeps the calls
 * queued and connects again at once. A proxy that closes the connection instead of answering
 * CONNECT then makes it reconnect in a tight loop (measured: ~6,000 CONNECTs a second, one core
 * busy) while the calls wait forever (a queued call's abort signal only takes effect once it is
 * dispatched). Such a failure is passed on as a plain error instead, which fails the calls.
 */
function failFast(connect: Connector): Connector {
  return (options, callback) =>
    connect(options, (error, socket) => {
      const code = (error as { code?: unknown } | null)?.code;
      callback(error !== null && (code === 'UND_ERR_SOCKET' || code === 'UND_ERR_INFO') ? new ConnectFailedError(error) : error, socket);
    });
}

function poolFactory(origin: string | URL, options: Record<string, unknown>): Dispatcher {
  const connect = options.connect;
  return new Pool(origin, typeof connect === 'function' ? { ...options, connect: failFast(connect as Connector) } : options);
}

/**
 * The dispatcher of a validator's calls: a keep-alive Pool for its origin when it is reached
 * directly, else the proxy agent. Every call names its `origin`, so either works the same way.
 */
export function createValidatorDispatcher(validator: ValidatorConfig): Dispatcher {
  const { proxy } = validator.outbound;
  if (proxy === null) return new Pool(validator.origin, { ...bounds(validator), connectTimeout: validator.timeoutMs, connect: tlsOptions(validator) });
  // http targets go as absolute-form requests, https ones through a CONNECT tunnel (RFC 9110 §9.3.6).
  const common = { ...bounds(validator), factory: poolFactory, proxyTunnel: false, requestTls: tlsOptions(validator), proxyTls: { timeout: validator.timeoutMs } };
  if (proxy === 'env') return new EnvHttpProxyAgent({ ...common, connect: tlsOptions(validator) });
  return new ProxyAgent({ ...common, uri: proxy.uri, ...(proxy.authorization === null ? {} : { token: proxy.authorization }) });
}

/**
 * The dispatcher for the validator's other calls (its jwksUrl): the same proxy agent when there is
 * one (it serves any origin), else an Agent with the same TLS material.
 */
export function createKeysDispatcher(validator: ValidatorConfig, calls: Dispatcher): Dispatcher {
  if (validator.outbound.proxy !== null) return calls;
  return new Agent({ ...bounds(validator), connections: 4, connectTimeout: validator.timeoutMs, connect: tlsOptions(validator) });
}

// Node's (OpenSSL's) certificate verification failures and TLS alerts.
const TLS_CODE = /^(?:ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_SELF_SIGNED_CERT$|HOSTNAME_MISMATCH$|EPROTO$|ERR_OSSL_)/;
// Failures to reach a host at all. With a proxy URL the gateway only ever connects to the proxy.
// Not a reset: it can come after the request left (from the validator, inside the tunnel), so it
// may depend on the token and must count against the breaker once per client, as without a proxy.
const CONNECT_CODE: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_PRX_TLS', 'TOKENGATE_CONNECT_FAILED']);

/**
 * A proxy or TLS failure, told apart from any other: the proxy refused the tunnel or the request
 * (407, a 5xx to CONNECT), could not be reached, or a certificate did not verify. `null`: neither.
 */
export function outboundFailure(error: unknown, validator: ValidatorConfig): { reason: UnavailableReason; message: string } | null {
  let cause: unknown = error;
  for (let depth = 0; depth < 3 && cause !== null && cause !== undefined; depth++) {
    const code = codeOf(cause);
    if (TLS_CODE.test(code)) return { reason: 'validator_tls_failed', message: `TLS to the validator failed (${code})` };
    cause = (cause as { cause?: unknown }).cause;
  }
  const proxy = validator.outbound.proxy;
  if (proxy === null) return null;
  const message = (error as { message?: unknown } | null)?.message;
  const text = typeof message === 'string' ? message : '';
  // undici: "Proxy response (407) !== 200 when HTTP Tunneling", "Proxy Authentication Required (407)".
  const refused = /^Proxy response \((\d{3})\)|^Proxy Authentication Required \((\d{3})\)/.exec(text);
  if (refused !== null) return { reason: 'validator_proxy_failed', message: `the proxy refused the call (${refused[1] ?? refused[2]})` };
  if (proxy !== 'env' && CONNECT_CODE.has(codeOf(error))) return { reason: 'validator_proxy_failed', message: `the proxy could not be reached (${codeOf(error)})` };
  return null;
}
