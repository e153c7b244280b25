/**
 * tokengate as a library: build a configuration (from a file or an object) and run a gateway, or
 * validate tokens in process with the gateway's decision core (SPEC 7.3: createTokenValidator;
 * the framework faces are `tokengate/fastify`, `tokengate/express` and `tokengate/node`).
 */
export { buildConfig, loadConfigFile } from './config/load.js';
export { ConfigError, type Problem } from './config/problems.js';
export type { GatewayConfig } from './config/compile.js';
export { startGateway, type Gateway, type GatewayOptions } from './gateway.js';
export {
  createTokenValidator,
  type AllowedDecision,
  type DeniedDecision,
  type DenialResponse,
  type Reason,
  type RequestOptions,
  type TokenDecision,
  type TokenPlace,
  type TokenValidator,
  type TokenValidatorConfig,
  type TokenValidatorOptions,
  type ValidateOptions,
} from './library/index.js';
