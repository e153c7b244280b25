/**
 * The shared second-level cache (SPEC section 6): results in Redis, so that instances behind a
 * load balancer validate a token once between them, and revocations reach all of them.
 *
 * Redis alone yields neither tokens nor user info: from the token, HKDF-SHA256 derives both the
 * Redis key (not reversible to the token) and an AES-256-GCM key that encrypts the value, with the
 * Redis key as additional data so that a value cannot be moved under another key. Whoever reads
 * Redis without the token learns nothing but how many results there are.
 *
 * Redis is an optimisation, never a dependency: every command has a bounded wait, and when Redis
 * is down or slow the gateway goes on with its own cache and the validator (counted, logged once
 * per outage), while ioredis reconnects in the background.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { ValidatorConfig } from '../config/compile.js';
import { fromPortable, toPortable, type TokenResult } from './token-result.js';

/** Pub/sub channel on which revoked local cache keys (SHA-256, hex) are announced. */
export const REVOCATION_CHANNEL = 'tokengate:revoked';
const KEY_PREFIX = 'tokengate:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface DerivedKeys {
  readonly redisKey: string;
  readonly valueKey: Buffer;
}

/** HKDF-SHA256 (RFC 5869) from the token, salted with the validator name: one key for Redis, one for the value. */
export function deriveKeys(validatorName: string, token: string): DerivedKeys {
  const okm = Buffer.from(hkdfSync('sha256', token, `tokengate\0${validatorName}`, 'tokengate redis v1', 64));
  return { redisKey: KEY_PREFIX + okm.toString('hex', 0, 32), valueKey: okm.subarray(32) };
}

export function seal(keys: DerivedKeys, plaintext: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.valueKey, iv);
  cipher.setAAD(Buffer.from(keys.redisKey));
  const body = Buffer.concat([cipher.update(plaintext, 'latin1'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** The plaintext, or null when the value was not sealed with these keys (tampered, or another token). */
export function unseal(keys: DerivedKeys, sealed: Buffer): string | null {
  if (sealed.length < IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.valueKey, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keys.redisKey));
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('latin1');
  } catch {
    return null;
  }
}

export interface SharedCacheOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  /** Called with the local cache keys (hex) another instance revoked. */
  readonly onRevoked: (hexKeys: readonly string[]) => void;
}

export class SharedCache {
  readonly #client: Redis;
  readonly #subscriber: Redis;
  readonly #options: SharedCacheOptions;
  #down = false;

  constructor(options: SharedCacheOptions) {
    this.#options = options;
    const common = {
      // Fail fast instead of queueing while disconnected, and never retry a command: the caller
      // has the validator to fall back on.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs,
      connectTimeout: 2_000,
      retryStrategy: (attempt: number) => Math.min(100 * attempt, 2_000),
      lazyConnect: false,
    };
    this.#client = new Redis(options.url, common);
    this.#subscriber = new Redis(options.url, { ...common, commandTimeout: undefined, enableOfflineQueue: true });
    for (const connection of [this.#client, this.#subscriber]) {
      connection.on('error', (error: Error) => this.#failed(error));
      connection.on('ready', () => this.#recovered());
    }
    this.#subscriber.subscribe(REVOCATION_CHANNEL).catch((error: Error) => this.#failed(error));
    this.#subscriber.on('message', (_channel: string, message: string) => options.onRevoked(message.split(',').filter((key) => /^[0-9a-f]{64}$/.test(key))));
  }

  /** Connected and answering, and listening for revocations. */
  get ready(): boolean {
    return this.#client.status === 'ready' && this.#subscriber.status === 'ready';
  }

  /** The result another instance stored for this validator and token; `null` also when it was written for another configuration. */
  async get(validator: ValidatorConfig, token: string): Promise<TokenResult | null> {
    const keys = deriveKeys(validator.name, token);
    let sealed: Buffer | null;
    try {
      sealed = await this.#client.getBuffer(keys.redisKey);
    } catch (error) {
      this.#failed(error as Error);
      return null;
    }
    const plaintext = sealed === null ? null : unseal(keys, sealed);
    const result = plaintext === null ? null : fromPortable(plaintext, validator.resultDigest);
    this.#options.metrics.cache(result === null ? 'redis_miss' : 'redis_hit');
    return result;
  }

  /** Stores a result for `ttlMs` (its stale time included); fire and forget. */
  set(validator: ValidatorConfig, token: string, result: TokenResult, ttlMs: number): void {
    if (ttlMs <= 0) return;
    const keys = deriveKeys(validator.name, token);
    this.#client.set(keys.redisKey, seal(keys, toPortable(result, validator.resultDigest)), 'PX', Math.ceil(ttlMs)).catch((error: Error) => this.#failed(error));
  }

  /** Deletes the token's results for these validators and tells every instance to drop `localKeysHex`. */
  async revoke(validatorNames: readonly string[], token: string, localKeysHex: readonly string[]): Promise<void> {
    try {
      await this.#client.del(...validatorNames.map((name) => deriveKeys(name, token).redisKey));
      await this.#client.publish(REVOCATION_CHANNEL, localKeysHex.join(','));
    } catch (error) {
      this.#failed(error as Error);
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#client.quit(), this.#subscriber.quit()]);
    this.#client.disconnect();
    this.#subscriber.disconnect();
  }

  #failed(error: Error): void {
    this.#options.metrics.redisError();
    if (!this.#down) {
      this.#down = true;
      this.#options.log.warn({ err: error.message }, 'redis unavailable; going on without the shared cache');
    }
  }

  #recovered(): void {
    if (this.#down) {
      this.#down = false;
      this.#options.log.info('redis available again');
    }
  }
}
