/**
 * Revocation (SPEC section 6, `POST /revoke`): a token is forgotten by every validator's cache
 * here, in Redis, and, through Redis pub/sub, in every other instance's memory. A validation of
 * that token already in flight cannot store its answer again (see ResultCache.revoke).
 */
import { tokenKey } from '../cache/key.js';
import { clockNow } from '../cache/token-result.js';
import { maxCallDurationMs } from '../validators/call.js';
import type { ValidatorState } from '../validators/state.js';
import type { Core } from './index.js';

/** Long enough for any call already in flight to end. */
function quarantineMs(state: ValidatorState): number {
  return maxCallDurationMs(state.config) + 100;
}

export interface Revocation {
  /** Cached results of the token removed here (0: none was cached; it is kept from being cached again all the same). */
  readonly forgotten: number;
  /** Validators whose cache was asked to forget the token. */
  readonly validators: number;
  /** Whether every other instance was told, through Redis (false without cache.redis). */
  readonly everywhere: boolean;
}

/** `announce` false: this process only (another worker of the instance tells Redis and the others). */
export async function revokeToken(core: Core, token: string, announce = true): Promise<Revocation> {
  const now = clockNow();
  const names: string[] = [];
  const hexKeys: string[] = [];
  let forgotten = 0;
  for (const state of core.validators.values()) {
    const key = tokenKey(state.config.name, token);
    if (state.cache?.revoke(key, now, quarantineMs(state)) === true) forgotten++;
    names.push(state.config.name);
    hexKeys.push(Buffer.from(key, 'latin1').toString('hex'));
  }
  if (core.shared === null || !announce) return { forgotten, validators: names.length, everywhere: false };
  await core.shared.revoke(names, token, hexKeys);
  return { forgotten, validators: names.length, everywhere: true };
}

/** Another instance revoked a token: forget its keys here too (they name no validator, so every cache is asked). */
export function forgetRevokedKeys(core: Core, hexKeys: readonly string[]): void {
  const now = clockNow();
  for (const hex of hexKeys) {
    const key = Buffer.from(hex, 'hex').toString('latin1');
    for (const state of core.validators.values()) state.cache?.revoke(key, now, quarantineMs(state));
  }
}
