/**
 * `probe`: one call to a validator, judged exactly as the gateway would judge it, explained; with
 * `--json`, one JSON object for scripts. The token itself is never printed, only its fingerprint,
 * even when the validator's answer repeats it. Exit 0 valid, 1 invalid, 2 unavailable, 3 when the
 * configuration cannot be used (usage errors are 64, as for every command).
 */
import { text } from 'node:stream/consumers';
import { fingerprintOf, tokenKey } from '../cache/key.js';
import type { GatewayConfig, ValidatorConfig } from '../config/compile.js';
import { loadConfigFile } from '../config/load.js';
import { renderIdentity, type DroppedIdentityHeader } from '../identity/plan.js';
import { callValidator, createValidatorOutbound, ValidatorCallError, type RefusalPeek } from '../validators/call.js';
import { judgeAnswer, type Judgement, type ValidatorAnswer } from '../validators/judge.js';
import { commandHelp, configPath, parseOptions, reportConfigError, UsageError } from './args.js';

export const PROBE_HELP = commandHelp(
  'probe [--config FILE] [--validator NAME] --token TOKEN [--json]',
  'Asks a validator once about a token and explains what the gateway would decide.',
  [
    ['--config FILE', 'the configuration (default $TOKENGATE_CONFIG, then ./tokengate.yaml)'],
    ['--validator NAME', 'which validator to ask (may be left out when there is only one)'],
    ['--token TOKEN', 'the access token; "-" reads it from stdin (keeps it out of ps and shell history)'],
    ['--json', 'print one JSON object instead of lines'],
  ],
  'Exit status: 0 valid, 1 invalid, 2 unavailable, 3 configuration refused, 64 usage error.',
);

const HINT_CREDENTIALS = 'a 401 or 403 from an introspection endpoint usually means the gateway\'s own credentials (clientAuth, api_key) were refused, not the token';

interface RouteVerdict {
  readonly path: string;
  readonly allowed: boolean;
  readonly missingScopes: readonly string[];
  readonly identity: Record<string, string>;
  readonly dropped: readonly DroppedIdentityHeader[];
}

export async function runProbe(args: string[]): Promise<number> {
  const options = parseOptions(args, { config: { type: 'string' }, validator: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } }, PROBE_HELP);
  if (options.token === undefined) throw new UsageError('--token TOKEN is required (or --token - to read it from stdin)');
  const token = options.token === '-' ? (await text(process.stdin)).trim() : options.token;
  if (token === '') throw new UsageError('the token is empty');

  let config: GatewayConfig;
  try {
    config = await loadConfigFile(configPath(options.config));
  } catch (error) {
    if (reportConfigError(error)) return 3;
    throw error;
  }
  const validator = chooseValidator(config, options.validator);
  const fingerprint = fingerprintOf(tokenKey(validator.name, token));

  const outbound = createValidatorOutbound(validator);
  const started = performance.now();
  const peek: RefusalPeek = { body: Buffer.alloc(0), location: undefined, mediaType: '' };
  let answer: ValidatorAnswer | undefined;
  let judgement: Judgement;
  let error: string | undefined;
  try {
    answer = await callValidator(outbound, validator, token, peek);
    judgement = judgeAnswer(answer, validator, Date.now() / 1000);
  } catch (failure) {
    judgement = { kind: 'unavailable', reason: failure instanceof ValidatorCallError ? failure.reason : 'validator_unreachable' };
    error = (failure as Error).message;
  } finally {
    await outbound.close();
  }
  const ms = Math.round(performance.now() - started);
  const hidden = (bytes: Buffer) => bytes.toString('utf8').replaceAll(token, `[token ${fingerprint}]`);
  const report = {
    validator: validator.name,
    url: `${validator.method} ${validator.origin}${validator.path.split('?')[0]}`,
    fingerprint,
    status: answer?.status ?? null,
    ms,
    mediaType: answer?.status === 200 ? answer.mediaType : peek.mediaType,
    decision: judgement.kind,
    reason: judgement.kind === 'valid' ? null : judgement.reason,
    error: error ?? null,
    active: judgement.kind === 'valid' ? (judgement.active ?? null) : null,
    exp: judgement.kind === 'valid' && judgement.exp !== undefined ? new Date(judgement.exp * 1000).toISOString() : null,
    scopes: judgement.kind === 'valid' ? [...judgement.scopes] : [],
    body: answer !== undefined && answer.status !== 200 && peek.body.length > 0 ? hidden(peek.body) : null,
    location: peek.location ?? null,
    hint: answer !== undefined && (answer.status === 401 || answer.status === 403) ? HINT_CREDENTIALS : null,
    routes: judgement.kind === 'valid' ? routeVerdicts(config, validator, judgement) : [],
  };
  if (options.json === true) process.stdout.write(`${JSON.stringify(report)}\n`);
  else printReport(report);
  return judgement.kind === 'valid' ? 0 : judgement.kind === 'invalid' ? 1 : 2;
}

function chooseValidator(config: GatewayConfig, name: string | undefined): ValidatorConfig {
  const names = [...config.validators.keys()];
  if (name === undefined) {
    if (names.length === 1) return config.validators.get(names[0])!;
    throw new UsageError(`--validator NAME is required: ${names.length === 0 ? 'no validators are configured' : `configured: ${names.join(', ')}`}`);
  }
  const validator = config.validators.get(name);
  if (validator === undefined) throw new UsageError(`no validator "${name}"; configured: ${names.join(', ')}`);
  return validator;
}

function routeVerdicts(config: GatewayConfig, validator: ValidatorConfig, judgement: Extract<Judgement, { kind: 'valid' }>): RouteVerdict[] {
  return config.routes
    .filter((route) => validator.identityPlans.includes(route.identity))
    .map((route) => {
      const dropped: DroppedIdentityHeader[] = [];
      const headers = renderIdentity(route.identity, judgement.claims, dropped);
      const identity: Record<string, string> = {};
      for (let i = 0; i < headers.length; i += 2) identity[headers[i]] = route.identity.encoding === 'utf8' ? Buffer.from(headers[i + 1], 'latin1').toString('utf8') : headers[i + 1];
      const missingScopes = route.requiredScopes.filter((scope) => !judgement.scopes.includes(scope));
      return { path: route.path, allowed: missingScopes.length === 0, missingScopes, identity, dropped };
    });
}

function printReport(report: {
  validator: string; url: string; fingerprint: string; status: number | null; ms: number; mediaType: string; decision: string; reason: string | null; error: string | null;
  active: boolean | null; exp: string | null; scopes: string[]; body: string | null; location: string | null; hint: string | null; routes: RouteVerdict[];
}): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`validator: ${report.validator} (${report.url})`);
  out(`token fingerprint: ${report.fingerprint}`);
  if (report.error !== null) out(`error: ${report.error}`);
  if (report.status !== null) out(`status: ${report.status} (${report.ms} ms)${report.mediaType === '' ? '' : `, ${report.mediaType}`}`);
  if (report.location !== null) out(`location: ${report.location} (redirects are never followed)`);
  if (report.body !== null) out(`body (first bytes): ${JSON.stringify(report.body)}`);
  if (report.hint !== null) out(`hint: ${report.hint}`);
  if (report.decision !== 'valid') {
    out(`decision: ${report.decision} (${report.reason})`);
    return;
  }
  out('decision: valid');
  out(`active: ${report.active === null ? '(not in the answer)' : String(report.active)}`);
  out(`exp: ${report.exp ?? '(not in the answer)'}`);
  out(`scopes: ${report.scopes.join(' ') || '(none)'}`);
  for (const route of report.routes) {
    out(`route ${route.path}: ${route.allowed ? 'allowed' : `refused, 403 (missing scope ${route.missingScopes.join(' ')})`}`);
    for (const [name, value] of Object.entries(route.identity)) out(`  ${name}: ${value}`);
    for (const item of route.dropped) out(`  ${item.header}: (dropped: ${item.reason})`);
  }
}
