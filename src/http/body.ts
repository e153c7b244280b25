/**
 * The one bounded body reader: a request's form body, an admin request, a validator's answer. It
 * reads at most `limit` bytes and stops at the first byte beyond, so no peer can make the gateway
 * buffer more than it chose to.
 */

export class BodyTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`the body is over the ${limit}-byte bound`);
    this.name = 'BodyTooLargeError';
    this.limit = limit;
  }
}

/**
 * All of `source` as one Buffer, or a `BodyTooLargeError` as soon as more than `limit` bytes have
 * arrived (or were announced in `declaredLength`). The caller ends the source on error.
 */
export async function readBounded(source: AsyncIterable<Buffer | Uint8Array | string>, limit: number, declaredLength?: string | number): Promise<Buffer> {
  if (declaredLength !== undefined && Number(declaredLength) > limit) throw new BodyTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}
