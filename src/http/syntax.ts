/**
 * The grammar the gateway checks input against, compiled once and shared by the configuration
 * schema and the request path, so that both accept exactly the same strings.
 */

/** RFC 9110 §5.6.2 token: header field names (§5.1) and methods (§9.1). */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** RFC 9110 §5.5 field value without CR, LF, NUL or other controls but HTAB (obs-text allowed). */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** RFC 6749 §3.3 scope-token. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** RFC 6750 §2.1 b64token. */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
