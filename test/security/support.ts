/**
 * Small helpers shared by the security tests (not a test file itself: the runner only picks
 * `*.test.ts`).
 */
import assert from 'node:assert/strict';
import type { RawResponse } from '../fixtures/gateway.js';

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
/** A port nothing listens on: a validator there is unreachable. */
export { freePort as closedPort } from '../fixtures/ports.js';

/** `host: …` value for raw requests to `url`. */
export function hostOf(url: string): string {
  return new URL(url).host;
}

/** Every header of a fetch response, as `name: value` lines (lower-case names). */
export function headerLines(res: Response): string[] {
  const lines: string[] = [];
  res.headers.forEach((value, name) => lines.push(`${name}: ${value}`));
  return lines;
}

/** Every header of a raw response, as `name: value` lines (lower-case names). */
export function rawHeaderLines(res: RawResponse): string[] {
  const lines: string[] = [];
  for (const [name, values] of res.headers) for (const value of values) lines.push(`${name}: ${value}`);
  return lines;
}

/** Asserts `haystack` holds none of `needles` (messages never quote the secret itself). */
export function assertExcludes(haystack: string, needles: readonly string[], where: string): void {
  for (const needle of needles) {
    assert.equal(haystack.includes(needle), false, `${where} must not contain a secret (needle #${needles.indexOf(needle)}, ${needle.length} chars)`);
  }
}

/** Asserts a gateway error answer: status, JSON content type, error type; returns the body text. */
export async function assertGatewayError(res: Response, status: number, type: string): Promise<string> {
  const body = await res.text();
  assert.equal(res.status, status, `status (body: ${body})`);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const parsed = JSON.parse(body) as { errors: { type: string; message: string }[] };
  assert.equal(parsed.errors.length, 1);
  assert.equal(parsed.errors[0].type, type);
  assert.equal(typeof parsed.errors[0].message, 'string');
  return body;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
