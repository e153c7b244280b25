/**
 * tokengate as a library for Node applications (SPEC 7.3): the gateway's decision core, in
 * process. `createTokenValidator` compiles the configuration file's keys (server, admin and routes
 * are not needed) and builds a runtime (validator pools, caches, breakers, Redis when configured);
 * `validate` asks the core about one token and returns the decision the gateway would have made:
 * the same validator call, cache and single flight, the same answers (SPEC section 4).
 */
import pino, { type Logger } from 'pino';
import { buildConfig } from '../config/load.js';
import { clientKey } from '../http/client-address.js';
import type { Question } from '../pipeline/index.js';
import type { TokenDecision } from './decision.js';
import { bindEngine, startEngine } from './engine.js';
import type { ValidateOptions } from './options.js';

export type { AllowedDecision, DeniedDecision, DenialResponse, Reason, TokenDecision } from './decision.js';
export type { RequestOptions, TokenPlace, ValidateOptions } from './options.js';

/**
 * The configuration file's keys as an object (SPEC section 3): `validators` is required; `realm`,
 * `server` (its limits: `maxTokenBytes`, `invalidTokenRate`, `trustedProxies`, …) and `cache`
 * (`redis`) apply as in the gateway. `${NAME}` in strings is read from `process.env`.
 */
export interface TokenValidatorConfig {
  readonly validators: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly [key: string]: unknown;
}

export interface TokenValidatorOptions {
  /** Where the core logs (validator unavailable, identity header dropped); silent when left out. */
  readonly logger?: Logger;
}

export interface TokenValidator {
  /**
   * The decision about `token`, judged as if sent as `Authorization: Bearer <token>` (RFC 6750
   * §2.1): `null` means the request had none (401 MissingTokenError). Cached and single-flighted:
   * concurrent and repeated calls with one token make one validator call (SPEC section 6).
   * Rejects with a TypeError when an option is invalid (an unknown validator, a bad scope or
   * JSONPath). Options are compiled once per object; do not change an options object once used.
   */
  validate(token: string | null, options?: ValidateOptions): Promise<TokenDecision>;
  /** Releases the validator connections, caches and Redis; `validate` rejects afterwards. */
  close(): Promise<void>;
}

const NO_VALUES: readonly string[] = Object.freeze([]);
const noHeaders = (): readonly string[] => NO_VALUES;

/**
 * Compiles `config` (a ConfigError names every problem by its key path, as `tokengate check`
 * does) and starts the runtime behind the returned validator.
 */
export async function createTokenValidator(config: TokenValidatorConfig, options: TokenValidatorOptions = {}): Promise<TokenValidator> {
  const engine = startEngine(buildConfig(config, process.env, 'library'), options.logger ?? pino({ level: 'silent' }));
  const validator: TokenValidator = {
    async validate(token, validateOptions) {
      if (token !== null && typeof token !== 'string') throw new TypeError('tokengate: the token must be a string, or null when the request had none');
      const question: Question = {
        policy: engine.policies.policyFor(validateOptions),
        authorization: token === null ? undefined : `Bearer ${token}`,
        authorizationCount: token === null ? 0 : 1,
        query: '',
        form: undefined,
        client: validateOptions?.client === undefined ? null : clientKey(validateOptions.client),
        headerValues: noHeaders,
      };
      return engine.decide(question);
    },
    close: () => engine.close(),
  };
  bindEngine(validator, engine);
  return validator;
}
