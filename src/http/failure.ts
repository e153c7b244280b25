/**
 * One reading of an outbound call's failure, for the validator and the upstream alike: did the
 * peer miss a deadline, or could it not be reached (refused, reset, DNS, TLS, proxy)?
 */

const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** Connection failures that happen before a single byte of the request was sent (safe to retry once). */
const NOTHING_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

/** An error's `code` (Node's and undici's), '' when it has none. */
export function codeOf(error: unknown): string {
  return (error as { code?: unknown } | null)?.code === undefined ? '' : String((error as { code: unknown }).code);
}

export function isTimeout(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'TimeoutError' || TIMEOUT_CODES.has(codeOf(error));
}

export function nothingWasSent(error: unknown): boolean {
  return NOTHING_SENT_CODES.has(codeOf(error));
}

/** `CODE: message` for a log line (never carries request data). */
export function describeFailure(error: unknown): string {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  return `${codeOf(error) || name || 'error'}: ${message ?? ''}`;
}
