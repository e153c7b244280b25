/**
 * `probe`: one call to a validator, judged exactly as the gateway would judge it, explained.
 * The token itself is never printed, only its fingerprint.
 */
import { text } from 'node:stream/consumers';
import { fingerprintOf, tokenKey } from '../cache/key.js';
import { loadConfigFile } from '../config/load.js';
import { renderIdentity, type DroppedIdentityHeader } from '../identity/plan.js';
import { callValidator, createValidatorPool, ValidatorCallError } from '../validators/call.js';
import { judgeAnswer, type Judgement, type ValidatorAnswer } from '../validators/judge.js';
import { configPath, parseOptions, reportConfigError, UsageError } from './args.js';

export async function runProbe(args: string[]): Promise<number> {
  const options = parseOptions(args, { config: { type: 'string' }, validator: { type: 'string' }, token: { type: 'string' } });
  if (options.validator === undefined) throw new UsageError('--validator NAME is required');
  if (options.token === undefined) throw new UsageError('--token TOKEN is required (or --token - to read it from stdin)');
  const token = options.token === '-' ? (await text(process.stdin)).trim() : options.token;
  if (token === '') throw new UsageError('the token is empty');

  let config;
  try {
    config = await loadConfigFile(configPath(options.config));
  } catch (error) {
    if (reportConfigError(error)) return 2;
    throw error;
  }
  const validator = config.validators.get(options.validator);
  if (validator === undefined) throw new UsageError(`no validator "${options.validator}"; configured: ${[...config.validators.keys()].join(', ')}`);

  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`validator: ${validator.name} (${validator.style}, ${validator.method} ${validator.origin}${validator.path.split('?')[0]})`);
  out(`token fingerprint: ${fingerprintOf(tokenKey(validator.name, token))}`);

  const pool = createValidatorPool(validator);
  const started = performance.now();
  let answer: ValidatorAnswer | undefined;
  let judgement: Judgement;
  try {
    answer = await callValidator(pool, validator, token);
    judgement = judgeAnswer(answer, validator, Date.now() / 1000);
  } catch (error) {
    judgement = { kind: 'unavailable', reason: error instanceof ValidatorCallError ? error.reason : 'validator_unreachable' };
    out(`error: ${(error as Error).message}`);
  } finally {
    await pool.close();
  }
  const ms = Math.round(performance.now() - started);
  if (answer !== undefined) out(`status: ${answer.status} (${ms} ms)${answer.mediaType === '' ? '' : `, ${answer.mediaType}`}`);

  if (judgement.kind !== 'valid') {
    out(`decision: ${judgement.kind} (${judgement.reason})`);
    return judgement.kind === 'invalid' ? 1 : 2;
  }
  out('decision: valid');
  out(`active: ${judgement.active === undefined ? '(not in the answer)' : String(judgement.active)}`);
  if (judgement.exp === undefined) out('exp: (not in the answer)');
  else out(`exp: ${new Date(judgement.exp * 1000).toISOString()} (in ${Math.round(judgement.exp - Date.now() / 1000)} s)`);
  out(`scopes: ${judgement.scopes.join(' ') || '(none)'}`);
  for (const route of config.routes) {
    if (!validator.identityPlans.includes(route.identity)) continue;
    const dropped: DroppedIdentityHeader[] = [];
    const headers = renderIdentity(route.identity, judgement.claims, dropped);
    const missingScopes = route.requiredScopes.filter((scope) => !judgement.scopes.includes(scope));
    out(`route ${route.path}: ${missingScopes.length === 0 ? 'allowed' : `refused, 403 (missing scope ${missingScopes.join(' ')})`}`);
    for (let i = 0; i < headers.length; i += 2) {
      const value = route.identity.encoding === 'utf8' ? Buffer.from(headers[i + 1], 'latin1').toString('utf8') : headers[i + 1];
      out(`  ${headers[i]}: ${value}`);
    }
    for (const item of dropped) out(`  ${item.header}: (dropped: ${item.reason})`);
  }
  return 0;
}
